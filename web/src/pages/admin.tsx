import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { api, call } from "../api/client";
import { allDoctors, doctorsById } from "../api/queries";
import type { AuditEvent, BookingStatus, DeadLetter, Doctor } from "../api/types";
import { DataTable, type Column } from "../components/data-table";
import { Field } from "../components/field";
import { FormCard } from "../components/form-card";
import { LoadState, Outcome, Page } from "../components/page";
import { Pager, usePagedLoad } from "../components/pager";
import { useAction, useLoad } from "../hooks";
import { formatDateTime } from "../time";

/** Links to a doctor's pages, for the doctors table. */
function DoctorLinks({ doctor }: { doctor: Doctor }) {
  return (
    <>
      <Link to={`/admin/doctors/${doctor.id}/schedule`} aria-label={`Schedule of ${doctor.name}`}>
        Schedule
      </Link>{" "}
      <Link to={`/doctors/${doctor.id}`} aria-label={`Patients' view of ${doctor.name}`}>
        Patients' view
      </Link>
    </>
  );
}

/** Doctors: add one, give one an account, change or delete one, open a doctor's schedule. */
export function AdminDoctorsPage() {
  const doctors = useLoad(() => allDoctors(), []);
  const create = useAction();
  const account = useAction();
  const [doctor, setDoctor] = useState({ name: "", specialization: "" });
  const [login, setLogin] = useState({ email: "", password: "", doctorId: "" });
  const change = useAction();
  const [editing, setEditing] = useState<{ id: string; name: string; specialization: string }>();

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

  const saveDoctor = (event: FormEvent) => {
    event.preventDefault();
    if (!editing) return;
    return change.run(async () => {
      const saved = await call(
        api.PATCH("/api/v1/doctors/{doctorId}", {
          params: { path: { doctorId: editing.id } },
          body: { name: editing.name.trim(), specialization: editing.specialization.trim() },
        }),
      );
      setEditing(undefined);
      doctors.reload();
      return `Saved ${saved.name}.`;
    });
  };
  // The API refuses (DOCTOR_HAS_ACTIVE_BOOKINGS) while patients hold upcoming bookings with the doctor.
  const deleteDoctor = (target: Doctor) =>
    change.run(async () => {
      await call(api.DELETE("/api/v1/doctors/{doctorId}", { params: { path: { doctorId: target.id } } }));
      if (editing?.id === target.id) setEditing(undefined);
      setLogin((l) => (l.doctorId === target.id ? { ...l, doctorId: "" } : l));
      doctors.reload();
      return `Deleted ${target.name}.`;
    });

  const columns: Column<Doctor>[] = [
    { header: "Name", cell: (d) => d.name },
    { header: "Specialization", cell: (d) => d.specialization },
    { header: "Pages", className: "links", cell: (d) => <DoctorLinks doctor={d} /> },
    {
      header: "Actions",
      cell: (d) => (
        <div className="actions">
          <button type="button" className="secondary" disabled={change.busy} aria-label={`Edit ${d.name}`} onClick={() => setEditing({ id: d.id, name: d.name, specialization: d.specialization })}>
            Edit
          </button>
          <button type="button" className="danger" disabled={change.busy} aria-label={`Delete ${d.name}`} onClick={() => void deleteDoctor(d)}>
            Delete
          </button>
        </div>
      ),
    },
  ];

  const list = doctors.data ?? [];
  return (
    <Page title="Doctors">
      <div className="columns">
        <FormCard id="add-doctor" title="Add a doctor" onSubmit={addDoctor} action={create} submitLabel="Add doctor">
          <Field id="doctor-name" data-field="name" label="Name" required maxLength={200} value={doctor.name} onValue={(name) => setDoctor({ ...doctor, name })} />
          <Field id="doctor-specialization" data-field="specialization" label="Specialization" required maxLength={100} value={doctor.specialization} onValue={(specialization) => setDoctor({ ...doctor, specialization })} />
        </FormCard>
        <FormCard id="add-account" title="Doctor account" onSubmit={addAccount} action={account} submitLabel="Create account">
          <label htmlFor="account-doctor">Doctor</label>
          <select id="account-doctor" required value={login.doctorId} onChange={(e) => setLogin({ ...login, doctorId: e.target.value })}>
            <option value="">Choose a doctor</option>
            {list.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.specialization})
              </option>
            ))}
          </select>
          <Field id="account-email" label="E-mail address" type="email" required autoComplete="off" value={login.email} onValue={(email) => setLogin({ ...login, email })} />
          <Field
            id="account-password"
            label="First password"
            hint="At least 12 characters; give it to the doctor in person."
            type="password"
            required
            minLength={12}
            autoComplete="new-password"
            value={login.password}
            onValue={(password) => setLogin({ ...login, password })}
          />
        </FormCard>
      </div>
      {editing ? (
        <FormCard id="edit-doctor" title="Change a doctor" onSubmit={saveDoctor} action={{ busy: change.busy, message: undefined }} submitLabel="Save doctor">
          <Field id="edit-doctor-name" data-field="name" label="New name" required maxLength={200} value={editing.name} onValue={(name) => setEditing({ ...editing, name })} />
          <Field
            id="edit-doctor-specialization"
            data-field="specialization"
            label="New specialization"
            required
            maxLength={100}
            value={editing.specialization}
            onValue={(specialization) => setEditing({ ...editing, specialization })}
          />
          <button type="button" className="secondary" onClick={() => setEditing(undefined)}>
            Do not change
          </button>
        </FormCard>
      ) : null}
      <h2>All doctors</h2>
      <Outcome message={change.message} />
      <LoadState loading={doctors.loading && !doctors.data} error={doctors.error} empty={!doctors.loading && list.length === 0 && "No doctors yet."} />
      {list.length > 0 ? <DataTable label="All doctors" rows={list} columns={columns} /> : null}
    </Page>
  );
}

const STATUSES: BookingStatus[] = ["pending", "confirmed", "cancelled", "expired"];

/** Every booking across all shards, newest first, page by page. */
export function AdminBookingsPage() {
  const [status, setStatus] = useState<BookingStatus | "">("");
  const { pages, page } = usePagedLoad(
    async (pageToken) => {
      const answer = await call(api.GET("/api/v1/bookings", { params: { query: { pageSize: 25, ...(status ? { status: [status] } : {}), ...pageToken } } }));
      return { ...answer, doctors: await doctorsById(answer.bookings.map((b) => b.doctorId)) };
    },
    [status],
  );

  const bookings = page.data?.bookings ?? [];
  return (
    <Page title="All bookings">
      <div className="form inline-form">
        <label htmlFor="bookings-status">Status</label>
        <select
          id="bookings-status"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value as BookingStatus | "");
            pages.reset();
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
        <DataTable
          label="Bookings"
          rows={bookings}
          columns={[
            { header: "Booked", cell: (b) => <Link to={`/admin/bookings/${b.id}`}>{formatDateTime(b.createTime)}</Link> },
            { header: "Slot starts", cell: (b) => formatDateTime(b.slotStartTime) },
            { header: "Doctor", cell: (b) => page.data?.doctors.get(b.doctorId)?.name ?? "—" },
            { header: "Patient", cell: (b) => b.patientName },
            { header: "Status", cell: (b) => b.status },
          ]}
        />
      ) : null}
      <Pager pages={pages} next={page.data?.nextPageToken} />
    </Page>
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
        <DataTable
          label="Notifications"
          rows={data.data.notifications}
          columns={[
            { header: "Event", cell: (n) => n.eventType },
            { header: "Channel", cell: (n) => n.channel ?? "—" },
            { header: "Status", cell: (n) => n.status ?? "—" },
            { header: "Attempts", cell: (n) => n.attempts },
            { header: "Error", cell: (n) => n.error || "—" },
            { header: "Sent", cell: (n) => formatDateTime(n.sentTime) },
          ]}
        />
      ) : null}
    </Page>
  );
}

/** Notifications that gave up, and replaying them once the cause is fixed. */
export function AdminDeadLettersPage() {
  const { pages, page } = usePagedLoad((pageToken) => call(api.GET("/api/v1/admin/dead-letters", { params: { query: { pageSize: 25, ...pageToken } } })));
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
        <DataTable
          label="Dead letters"
          rows={letters}
          rowAttributes={(d) => ({ "data-dead-letter-id": d.id })}
          columns={[
            { header: "When", cell: (d) => formatDateTime(d.createTime) },
            { header: "Event", cell: (d) => (d.bookingId ? <Link to={`/admin/bookings/${d.bookingId}`}>{d.eventType}</Link> : d.eventType || "unreadable") },
            { header: "Channel", cell: (d) => d.channel ?? "—" },
            { header: "Reason", cell: (d) => d.reason },
            { header: "Attempts", cell: (d) => d.attempts },
            {
              header: "Replay",
              cell: (d) =>
                d.replayTime ? (
                  `${d.replayStatus ?? ""} ${formatDateTime(d.replayTime)}`
                ) : (
                  <button type="button" className="secondary" disabled={action.busy} onClick={() => void replay(d)}>
                    Replay
                  </button>
                ),
            },
          ]}
        />
      ) : null}
      <Pager pages={pages} next={page.data?.nextPageToken} />
    </Page>
  );
}

const targetText = (target: AuditEvent["target"]): string =>
  Object.entries(target as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(", ");

const AUDIT_COLUMNS: Column<AuditEvent>[] = [
  { header: "When", cell: (e) => formatDateTime(e.time) },
  {
    header: "Action",
    cell: (e) => (
      <>
        {e.action}
        <br />
        <span className="muted mono">
          {e.method} {e.path}
        </span>
      </>
    ),
  },
  { header: "Target", className: "mono", cell: (e) => targetText(e.target) },
  { header: "Status", cell: (e) => e.statusCode },
  { header: "By", className: "mono", cell: (e) => e.actorAccountId },
];

/** What admins changed, newest first. */
export function AdminAuditPage() {
  const { pages, page } = usePagedLoad((pageToken) => call(api.GET("/api/v1/admin/audit-events", { params: { query: { pageSize: 25, ...pageToken } } })));
  const events = page.data?.events ?? [];
  return (
    <Page title="Audit log" intro="Every change an admin made, who made it and how it ended.">
      <LoadState loading={page.loading && !page.data} error={page.error} empty={!page.loading && events.length === 0 && "Nothing recorded yet."} />
      {events.length > 0 ? (
        <DataTable label="Audit events" rows={events} columns={AUDIT_COLUMNS} />
      ) : null}
      <Pager pages={pages} next={page.data?.nextPageToken} />
    </Page>
  );
}
