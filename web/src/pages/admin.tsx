import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { api, call } from "../api/client";
import { allDoctors, doctorsById } from "../api/queries";
import type { AuditEvent, Booking, DeadLetter } from "../api/types";
import { LoadState, Outcome, Page, TableRegion } from "../components/page";
import { useAction, useLoad } from "../hooks";
import { formatDateTime } from "../time";

/** Doctors: add one, give one an account, open a doctor's schedule. */
export function AdminDoctorsPage() {
  const doctors = useLoad(() => allDoctors(), []);
  const create = useAction();
  const account = useAction();
  const [doctor, setDoctor] = useState({ name: "", specialization: "" });
  const [login, setLogin] = useState({ email: "", password: "", doctorId: "" });

  const addDoctor = (event: FormEvent) => {
    event.preventDefault();
    return create.run(async () => {
      const made = await call(api.POST("/api/v1/doctors", { body: { name: doctor.name.trim(), specialization: doctor.specialization.trim() } }));
      setDoctor({ name: "", specialization: "" });
      setLogin((l) => ({ ...l, doctorId: made.id }));
      doctors.reload();
      return `Added ${made.name}.`;
    });
  };
  const addAccount = (event: FormEvent) => {
    event.preventDefault();
    return account.run(async () => {
      const made = await call(
        api.POST("/api/v1/accounts", { body: { email: login.email.trim(), password: login.password, role: "doctor", doctorId: login.doctorId } }),
      );
      setLogin({ email: "", password: "", doctorId: "" });
      return `Account ${made.email} created; they can sign in now.`;
    });
  };

  const list = doctors.data ?? [];
  return (
    <Page title="Doctors">
      <div className="columns">
        <section className="card" aria-labelledby="add-doctor">
          <h2 id="add-doctor">Add a doctor</h2>
          <form className="form" onSubmit={addDoctor}>
            <label htmlFor="doctor-name">Name</label>
            <input id="doctor-name" required maxLength={200} value={doctor.name} onChange={(e) => setDoctor({ ...doctor, name: e.target.value })} />
            <label htmlFor="doctor-specialization">Specialization</label>
            <input id="doctor-specialization" required maxLength={100} value={doctor.specialization} onChange={(e) => setDoctor({ ...doctor, specialization: e.target.value })} />
            <button type="submit" disabled={create.busy}>
              Add doctor
            </button>
          </form>
          <Outcome message={create.message} />
        </section>
        <section className="card" aria-labelledby="add-account">
          <h2 id="add-account">Doctor account</h2>
          <form className="form" onSubmit={addAccount}>
            <label htmlFor="account-doctor">Doctor</label>
            <select id="account-doctor" required value={login.doctorId} onChange={(e) => setLogin({ ...login, doctorId: e.target.value })}>
              <option value="">Choose a doctor</option>
              {list.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.specialization})
                </option>
              ))}
            </select>
            <label htmlFor="account-email">E-mail address</label>
            <input id="account-email" type="email" required autoComplete="off" value={login.email} onChange={(e) => setLogin({ ...login, email: e.target.value })} />
            <label htmlFor="account-password">First password</label>
            <input
              id="account-password"
              type="password"
              required
              minLength={12}
              autoComplete="new-password"
              aria-describedby="account-password-hint"
              value={login.password}
              onChange={(e) => setLogin({ ...login, password: e.target.value })}
            />
            <p id="account-password-hint" className="hint">
              At least 12 characters; give it to the doctor in person.
            </p>
            <button type="submit" disabled={account.busy}>
              Create account
            </button>
          </form>
          <Outcome message={account.message} />
        </section>
      </div>
      <h2>All doctors</h2>
      <LoadState loading={doctors.loading && !doctors.data} error={doctors.error} empty={!doctors.loading && list.length === 0 && "No doctors yet."} />
      {list.length > 0 ? (
        <TableRegion label="All doctors">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Specialization</th>
                <th scope="col">Pages</th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => (
                <tr key={d.id}>
                  <td data-label="Name">{d.name}</td>
                  <td data-label="Specialization">{d.specialization}</td>
                  <td data-label="Pages" className="links">
                    <Link to={`/admin/doctors/${d.id}/schedule`} aria-label={`Schedule of ${d.name}`}>
                      Schedule
                    </Link>{" "}
                    <Link to={`/doctors/${d.id}`} aria-label={`Patients' view of ${d.name}`}>
                      Patients' view
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
    </Page>
  );
}

const STATUSES: Booking["status"][] = ["pending", "confirmed", "cancelled", "expired"];

/** Every booking across all shards, newest first, page by page. */
export function AdminBookingsPage() {
  const [status, setStatus] = useState<Booking["status"] | "">("");
  const [tokens, setTokens] = useState<string[]>([]);
  const pageToken = tokens[tokens.length - 1];
  const page = useLoad(async () => {
    const answer = await call(
      api.GET("/api/v1/bookings", { params: { query: { pageSize: 25, ...(status ? { status: [status] } : {}), ...(pageToken ? { pageToken } : {}) } } }),
    );
    return { ...answer, doctors: await doctorsById(answer.bookings.map((b) => b.doctorId)) };
  }, [status, pageToken]);

  const bookings = page.data?.bookings ?? [];
  return (
    <Page title="All bookings">
      <div className="form inline-form">
        <label htmlFor="bookings-status">Status</label>
        <select
          id="bookings-status"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value as Booking["status"] | "");
            setTokens([]);
          }}
        >
          <option value="">Any</option>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </div>
      <LoadState loading={page.loading && !page.data} error={page.error} empty={!page.loading && bookings.length === 0 && "No bookings."} />
      {bookings.length > 0 ? (
        <TableRegion label="Bookings">
          <table>
            <thead>
              <tr>
                <th scope="col">Booked</th>
                <th scope="col">Slot starts</th>
                <th scope="col">Doctor</th>
                <th scope="col">Patient</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {bookings.map((b) => (
                <tr key={b.id}>
                  <td data-label="Booked">
                    <Link to={`/admin/bookings/${b.id}`}>{formatDateTime(b.createTime)}</Link>
                  </td>
                  <td data-label="Slot starts">{formatDateTime(b.slotStartTime)}</td>
                  <td data-label="Doctor">{page.data?.doctors.get(b.doctorId)?.name ?? "—"}</td>
                  <td data-label="Patient">{b.patientName}</td>
                  <td data-label="Status">{b.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
      <Pager hasPrevious={tokens.length > 0} next={page.data?.nextPageToken} onPrevious={() => setTokens(tokens.slice(0, -1))} onNext={(t) => setTokens([...tokens, t])} />
    </Page>
  );
}

function Pager({ hasPrevious, next, onPrevious, onNext }: { hasPrevious: boolean; next: string | undefined; onPrevious: () => void; onNext: (token: string) => void }) {
  if (!hasPrevious && !next) return null;
  return (
    <nav className="actions" aria-label="Pages">
      <button type="button" className="secondary" disabled={!hasPrevious} onClick={onPrevious}>
        ← Newer
      </button>
      <button type="button" className="secondary" disabled={!next} onClick={() => next && onNext(next)}>
        Older →
      </button>
    </nav>
  );
}

/** One booking and the notifications it caused. */
export function AdminBookingPage() {
  const { bookingId = "" } = useParams();
  const data = useLoad(async () => {
    const [booking, notifications] = await Promise.all([
      call(api.GET("/api/v1/bookings/{bookingId}", { params: { path: { bookingId } } })),
      call(api.GET("/api/v1/bookings/{bookingId}/notifications", { params: { path: { bookingId } } })),
    ]);
    return { booking, notifications: notifications.notifications };
  }, [bookingId]);
  const booking = data.data?.booking;
  return (
    <Page title="Booking">
      <LoadState loading={data.loading && !data.data} error={data.error} />
      {booking ? (
        <dl className="card facts">
          <dt>Patient</dt>
          <dd>
            {booking.patientName} ({booking.patientContact}
            {booking.patientPhone ? `, ${booking.patientPhone}` : ""})
          </dd>
          <dt>Status</dt>
          <dd>{booking.status}</dd>
          <dt>Slot starts</dt>
          <dd>{formatDateTime(booking.slotStartTime)}</dd>
          <dt>Booked</dt>
          <dd>{formatDateTime(booking.createTime)}</dd>
          <dt>Id</dt>
          <dd className="mono">{booking.id}</dd>
        </dl>
      ) : null}
      <h2>Notifications</h2>
      {data.data && data.data.notifications.length === 0 ? <p className="muted">None sent (yet).</p> : null}
      {data.data && data.data.notifications.length > 0 ? (
        <TableRegion label="Notifications">
          <table>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Error</th>
                <th scope="col">Sent</th>
              </tr>
            </thead>
            <tbody>
              {data.data.notifications.map((n) => (
                <tr key={n.id}>
                  <td data-label="Event">{n.eventType}</td>
                  <td data-label="Channel">{n.channel ?? "—"}</td>
                  <td data-label="Status">{n.status ?? "—"}</td>
                  <td data-label="Attempts">{n.attempts}</td>
                  <td data-label="Error">{n.error || "—"}</td>
                  <td data-label="Sent">{formatDateTime(n.sentTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
    </Page>
  );
}

/** Notifications that gave up, and replaying them once the cause is fixed. */
export function AdminDeadLettersPage() {
  const [tokens, setTokens] = useState<string[]>([]);
  const pageToken = tokens[tokens.length - 1];
  const page = useLoad(
    () => call(api.GET("/api/v1/admin/dead-letters", { params: { query: { pageSize: 25, ...(pageToken ? { pageToken } : {}) } } })),
    [pageToken],
  );
  const action = useAction();
  const [replayed, setReplayed] = useState<Map<string, DeadLetter>>(new Map());

  const replay = (entry: DeadLetter) =>
    action.run(async () => {
      const answer = await call(api.POST("/api/v1/admin/dead-letters/{deadLetterId}/replay", { params: { path: { deadLetterId: entry.id } } }));
      setReplayed(new Map(replayed).set(entry.id, answer));
      return answer.replayStatus === "sent" ? `Replayed: the ${entry.channel ?? ""} notification was sent.` : "Replayed, but sending failed again.";
    });

  const letters = (page.data?.deadLetters ?? []).map((d) => replayed.get(d.id) ?? d);
  return (
    <Page title="Dead letters" intro="Notifications that failed after every retry. Fix the cause, then replay.">
      <Outcome message={action.message} />
      <LoadState loading={page.loading && !page.data} error={page.error} empty={!page.loading && letters.length === 0 && "No dead letters."} />
      {letters.length > 0 ? (
        <TableRegion label="Dead letters">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Channel</th>
                <th scope="col">Reason</th>
                <th scope="col">Attempts</th>
                <th scope="col">Replay</th>
              </tr>
            </thead>
            <tbody>
              {letters.map((d) => (
                <tr key={d.id} data-dead-letter-id={d.id}>
                  <td data-label="When">{formatDateTime(d.createTime)}</td>
                  <td data-label="Event">{d.bookingId ? <Link to={`/admin/bookings/${d.bookingId}`}>{d.eventType}</Link> : d.eventType || "unreadable"}</td>
                  <td data-label="Channel">{d.channel ?? "—"}</td>
                  <td data-label="Reason">{d.reason}</td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Replay">
                    {d.replayTime ? (
                      `${d.replayStatus ?? ""} ${formatDateTime(d.replayTime)}`
                    ) : (
                      <button type="button" className="secondary" disabled={action.busy} onClick={() => void replay(d)}>
                        Replay
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
      <Pager hasPrevious={tokens.length > 0} next={page.data?.nextPageToken} onPrevious={() => setTokens(tokens.slice(0, -1))} onNext={(t) => setTokens([...tokens, t])} />
    </Page>
  );
}

const targetText = (target: AuditEvent["target"]): string =>
  Object.entries(target as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(", ");

/** What admins changed, newest first. */
export function AdminAuditPage() {
  const [tokens, setTokens] = useState<string[]>([]);
  const pageToken = tokens[tokens.length - 1];
  const page = useLoad(
    () => call(api.GET("/api/v1/admin/audit-events", { params: { query: { pageSize: 25, ...(pageToken ? { pageToken } : {}) } } })),
    [pageToken],
  );
  const events = page.data?.events ?? [];
  return (
    <Page title="Audit log" intro="Every change an admin made, who made it and how it ended.">
      <LoadState loading={page.loading && !page.data} error={page.error} empty={!page.loading && events.length === 0 && "Nothing recorded yet."} />
      {events.length > 0 ? (
        <TableRegion label="Audit events">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Status</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id}>
                  <td data-label="When">{formatDateTime(e.time)}</td>
                  <td data-label="Action">
                    {e.action}
                    <br />
                    <span className="muted mono">
                      {e.method} {e.path}
                    </span>
                  </td>
                  <td data-label="Target" className="mono">{targetText(e.target)}</td>
                  <td data-label="Status">{e.statusCode}</td>
                  <td data-label="By" className="mono">{e.actorAccountId}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
      <Pager hasPrevious={tokens.length > 0} next={page.data?.nextPageToken} onPrevious={() => setTokens(tokens.slice(0, -1))} onNext={(t) => setTokens([...tokens, t])} />
    </Page>
  );
}
