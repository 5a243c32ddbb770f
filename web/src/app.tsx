import { BrowserRouter, Link, Navigate, NavLink, Route, Routes, useNavigate } from "react-router";
import { useSession } from "./auth/session";
import { Page } from "./components/page";
import { RequireRole } from "./components/require-role";
import { AdminAuditPage, AdminBookingPage, AdminBookingsPage, AdminDeadLettersPage, AdminDoctorsPage } from "./pages/admin";
import { DoctorWeekPage } from "./pages/doctor-week";
import { DoctorsPage } from "./pages/doctors";
import { MyBookingsPage } from "./pages/my-bookings";
import { SchedulePage } from "./pages/schedule";
import { homeOf, RegisterPage, SignInPage } from "./pages/sign-in";
import { ROUTES } from "./routes";

function Navigation() {
  const { account, status, signOut } = useSession();
  const navigate = useNavigate();
  const role = account?.role;
  return (
    <header className="site-header">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <div className="header-inner">
        <Link className="brand" to="/">
          Clinic
        </Link>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/doctors" end>
                Find a doctor
              </NavLink>
            </li>
            {account ? (
              <li>
                <NavLink to="/bookings">My bookings</NavLink>
              </li>
            ) : null}
            {role === "doctor" ? (
              <li>
                <NavLink to="/schedule">My schedule</NavLink>
              </li>
            ) : null}
            {role === "admin" ? (
              <>
                <li>
                  <NavLink to="/admin/doctors">Doctors</NavLink>
                </li>
                <li>
                  <NavLink to="/admin/bookings">Bookings</NavLink>
                </li>
                <li>
                  <NavLink to="/admin/dead-letters">Dead letters</NavLink>
                </li>
                <li>
                  <NavLink to="/admin/audit">Audit log</NavLink>
                </li>
              </>
            ) : null}
          </ul>
        </nav>
        <div className="account">
          {account ? (
            <>
              <span className="muted" title={account.role}>
                {account.email}
              </span>
              <button
                type="button"
                className="secondary"
                onClick={() => void signOut().finally(() => void navigate("/sign-in"))}
              >
                Sign out
              </button>
            </>
          ) : status === "signed-out" ? (
            <>
              <Link to="/sign-in">Sign in</Link>
              <Link to="/register">Register</Link>
            </>
          ) : null}
        </div>
      </div>
    </header>
  );
}

function Home() {
  const { account, status } = useSession();
  if (status === "restoring") return <p className="muted">Signing you in…</p>;
  return <Navigate to={account ? homeOf(account) : "/doctors"} replace />;
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>
        There is no such page. <Link to="/">Go to the start</Link>.
      </p>
    </Page>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <Navigation />
      <main id="content" tabIndex={-1}>
        <Routes>
          <Route path={ROUTES.home} element={<Home />} />
          <Route path={ROUTES.signIn} element={<SignInPage />} />
          <Route path={ROUTES.register} element={<RegisterPage />} />
          <Route path={ROUTES.doctors} element={<DoctorsPage />} />
          <Route path={ROUTES.doctorWeek} element={<DoctorWeekPage />} />
          <Route path={ROUTES.myBookings} element={<RequireRole roles={["patient", "doctor", "admin"]}>{<MyBookingsPage />}</RequireRole>} />
          <Route path={ROUTES.schedule} element={<RequireRole roles={["doctor"]}>{<SchedulePage />}</RequireRole>} />
          <Route path={ROUTES.adminDoctors} element={<RequireRole roles={["admin"]}>{<AdminDoctorsPage />}</RequireRole>} />
          <Route path={ROUTES.adminDoctorSchedule} element={<RequireRole roles={["admin"]}>{<SchedulePage />}</RequireRole>} />
          <Route path={ROUTES.adminBookings} element={<RequireRole roles={["admin"]}>{<AdminBookingsPage />}</RequireRole>} />
          <Route path={ROUTES.adminBooking} element={<RequireRole roles={["admin"]}>{<AdminBookingPage />}</RequireRole>} />
          <Route path={ROUTES.adminDeadLetters} element={<RequireRole roles={["admin"]}>{<AdminDeadLettersPage />}</RequireRole>} />
          <Route path={ROUTES.adminAudit} element={<RequireRole roles={["admin"]}>{<AdminAuditPage />}</RequireRole>} />
          <Route path={ROUTES.notFound} element={<NotFound />} />
        </Routes>
      </main>
    </BrowserRouter>
  );
}
