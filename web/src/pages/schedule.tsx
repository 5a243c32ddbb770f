import { useEffect, useState, type FormEvent } from "react";
import { useParams, useSearchParams } from "react-router";
import { api, call } from "../api/client";
import { slotsBetween } from "../api/queries";
import type { Booking, Slot, SlotAvailability } from "../api/types";
import { useSession } from "../auth/session";
import { LoadState, Message, Outcome, Page, TableRegion } from "../components/page";
import { WeekNav } from "../components/week-nav";
import { useAction, useLoad } from "../hooks";
import { useLiveSeats } from "../live-seats";
import { addDays, formatDay, formatRange, isoDate, localTimeZone, parseIsoDate, sameDay, startOfWeek } from "../time";

const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
type Weekday = (typeof WEEKDAYS)[number];

/**
 * A doctor's own schedule (an admin's view of any doctor's, at /admin/doctors/:doctorId/schedule):
 * the week's slots with seats taken, capacity changes, deletes, who booked, and publishing a
 * weekly schedule.
 */
export function SchedulePage() {
  const { account } = useSession();
  const params = useParams();
  const doctorId = params["doctorId"] ?? account?.doctorId ?? "";
  const basePath = params["doctorId"] ? `/admin/doctors/${doctorId}/schedule` : "/schedule";
  const [search] = useSearchParams();
  const weekStart = startOfWeek(parseIsoDate(search.get("week")) ?? new Date());
  const weekKey = weekStart.getTime();
  const doctor = useLoad(() => call(api.GET("/api/v1/doctors/{doctorId}", { params: { path: { doctorId } } })), [doctorId]);
  const slots = useLoad(() => slotsBetween(doctorId, weekStart, addDays(weekStart, 7)), [doctorId, weekKey]);
  const { seats, refresh: refreshSeats } = useLiveSeats((slots.data ?? []).map((s) => s.id));

  if (!doctorId) {
    return (
      <Page title="My schedule">
        <Message kind="error">This account is not linked to a doctor.</Message>
      </Page>
    );
  }
  const days = Array.from({ length: 7 }, (_, i) => addDays(weekStart, i));
  return (
    <Page title={params["doctorId"] ? `Schedule of ${doctor.data?.name ?? "…"}` : "My schedule"}>
      <LoadState loading={false} error={doctor.error} />
      <WeekNav weekStart={weekStart} basePath={basePath} />
      <LoadState loading={slots.loading && !slots.data} error={slots.error} empty={!slots.loading && (slots.data ?? []).length === 0 && "No slots this week."} />
      <div className="week">
      {days.map((day) => {
        const daySlots = (slots.data ?? []).filter((s) => sameDay(new Date(s.startTime), day));
        if (daySlots.length === 0) return null;
        return (
          <section key={day.getTime()} className="day" aria-labelledby={`sday-${day.getTime()}`}>
            <h2 id={`sday-${day.getTime()}`}>{formatDay(day)}</h2>
            <ul className="slots manage">
              {daySlots.map((slot) => (
                <ManagedSlot
                  key={slot.id}
                  slot={slot}
                  seats={seats.get(slot.id)}
                  onChanged={() => {
                    slots.reload();
                    refreshSeats();
                  }}
                />
              ))}
            </ul>
          </section>
        );
      })}
      </div>
      <PublishSchedule doctorId={doctorId} weekStart={weekStart} onPublished={slots.reload} />
    </Page>
  );
}

function ManagedSlot({ slot, seats, onChanged }: { slot: Slot; seats: SlotAvailability | undefined; onChanged: () => void }) {
  const [capacity, setCapacity] = useState(String(slot.capacity));
  const [bookings, setBookings] = useState<Booking[]>();
  const action = useAction();
  const when = formatRange(slot.startTime, slot.endTime);
  useEffect(() => setCapacity(String(slot.capacity)), [slot.capacity]);

  const save = (event: FormEvent) => {
    event.preventDefault();
    return action.run(async () => {
      await call(api.PATCH("/api/v1/slots/{slotId}", { params: { path: { slotId: slot.id } }, body: { capacity: Number(capacity) } }));
      onChanged();
      return `Capacity of ${when} is now ${capacity}.`;
    });
  };
  const remove = () =>
    action.run(async () => {
      await call(api.DELETE("/api/v1/slots/{slotId}", { params: { path: { slotId: slot.id } } }));
      onChanged();
    });
  const showBookings = () =>
    action.run(async () => {
      const page = await call(api.GET("/api/v1/slots/{slotId}/bookings", { params: { path: { slotId: slot.id }, query: { pageSize: 100 } } }));
      setBookings(page.bookings);
    });

  return (
    <li className="slot managed" data-slot-id={slot.id}>
      <div className="slot-head">
        <span className="slot-time">{when}</span>
        <span className="slot-seats">{seats ? `${seats.held} of ${seats.capacity} taken` : "…"}</span>
      </div>
      <form className="inline-form" onSubmit={save}>
        <label htmlFor={`capacity-${slot.id}`}>Seats</label>
        <input id={`capacity-${slot.id}`} type="number" min={1} max={1000} required value={capacity} onChange={(e) => setCapacity(e.target.value)} />
        <button type="submit" className="secondary" disabled={action.busy} aria-label={`Save seats for ${when}`}>
          Save
        </button>
        <button type="button" className="secondary" disabled={action.busy} onClick={() => void showBookings()} aria-label={`Who booked ${when}`}>
          Who booked
        </button>
        <button type="button" className="danger" disabled={action.busy} onClick={() => void remove()} aria-label={`Delete ${when}`}>
          Delete
        </button>
      </form>
      <Outcome message={action.message} />
      {bookings ? (
        bookings.length === 0 ? (
          <p className="muted">Nobody has booked {when}.</p>
        ) : (
          <TableRegion label={`Bookings for ${when}`}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Patient</th>
                  <th scope="col">Contact</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {bookings.map((b) => (
                  <tr key={b.id}>
                    <td data-label="Patient">{b.patientName}</td>
                    <td data-label="Contact">
                      {b.patientContact}
                      {b.patientPhone ? `, ${b.patientPhone}` : ""}
                    </td>
                    <td data-label="Status">{b.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )
      ) : null}
    </li>
  );
}

/** Every zone the browser knows, the browser's own first (some, like UTC, are not in the list). */
const timeZones = (): string[] => {
  let known: string[] = [];
  try {
    known = Intl.supportedValuesOf("timeZone");
  } catch {
    // An older browser: the local zone only.
  }
  return [...new Set([localTimeZone(), ...known])];
};

/** The weekly schedule form: local dates and hours in a time zone, expanded by the API (DST-safe). */
function PublishSchedule({ doctorId, weekStart, onPublished }: { doctorId: string; weekStart: Date; onPublished: () => void }) {
  const [form, setForm] = useState({
    timeZone: localTimeZone(),
    startDate: isoDate(weekStart),
    endDate: isoDate(addDays(weekStart, 4)),
    weekdays: new Set<Weekday>(["monday", "tuesday", "wednesday", "thursday", "friday"]),
    dayStart: "09:00",
    dayEnd: "12:00",
    slotMinutes: "30",
    capacity: "1",
  });
  useEffect(() => setForm((f) => ({ ...f, startDate: isoDate(weekStart), endDate: isoDate(addDays(weekStart, 4)) })), [weekStart.getTime()]);
  const action = useAction();
  const zones = timeZones();

  const toggle = (day: Weekday) => {
    const weekdays = new Set(form.weekdays);
    if (weekdays.has(day)) weekdays.delete(day);
    else weekdays.add(day);
    setForm({ ...form, weekdays });
  };

  const publish = (event: FormEvent) => {
    event.preventDefault();
    return action.run(async () => {
      const answer = await call(
        api.POST("/api/v1/doctors/{doctorId}/slots/batch", {
          params: { path: { doctorId } },
          body: {
            timeZone: form.timeZone,
            startDate: form.startDate,
            endDate: form.endDate,
            weekdays: WEEKDAYS.filter((d) => form.weekdays.has(d)),
            dayStart: form.dayStart,
            dayEnd: form.dayEnd,
            slotMinutes: Number(form.slotMinutes),
            capacity: Number(form.capacity),
          },
        }),
      );
      onPublished();
      return `Published ${answer.slots.length} ${answer.slots.length === 1 ? "slot" : "slots"}.`;
    });
  };

  return (
    <section className="card" aria-labelledby="publish-heading">
      <h2 id="publish-heading">Publish a weekly schedule</h2>
      <form className="form grid" onSubmit={publish}>
        <div>
          <label htmlFor="publish-zone">Time zone</label>
          <select id="publish-zone" value={form.timeZone} onChange={(e) => setForm({ ...form, timeZone: e.target.value })}>
            {zones.map((zone) => (
              <option key={zone}>{zone}</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="publish-from">From</label>
          <input id="publish-from" type="date" required value={form.startDate} onChange={(e) => setForm({ ...form, startDate: e.target.value })} />
        </div>
        <div>
          <label htmlFor="publish-to">To (inclusive)</label>
          <input id="publish-to" type="date" required value={form.endDate} onChange={(e) => setForm({ ...form, endDate: e.target.value })} />
        </div>
        <fieldset className="weekdays">
          <legend>Days</legend>
          {WEEKDAYS.map((day) => (
            <label key={day} className="check">
              <input type="checkbox" checked={form.weekdays.has(day)} onChange={() => toggle(day)} />
              {day[0]!.toUpperCase() + day.slice(1)}
            </label>
          ))}
        </fieldset>
        <div>
          <label htmlFor="publish-start">Day starts</label>
          <input id="publish-start" type="time" required value={form.dayStart} onChange={(e) => setForm({ ...form, dayStart: e.target.value })} />
        </div>
        <div>
          <label htmlFor="publish-end">Day ends</label>
          <input id="publish-end" type="time" required value={form.dayEnd} onChange={(e) => setForm({ ...form, dayEnd: e.target.value })} />
        </div>
        <div>
          <label htmlFor="publish-length">Minutes per slot</label>
          <input id="publish-length" type="number" min={5} max={1440} required value={form.slotMinutes} onChange={(e) => setForm({ ...form, slotMinutes: e.target.value })} />
        </div>
        <div>
          <label htmlFor="publish-capacity">Seats per slot</label>
          <input id="publish-capacity" type="number" min={1} max={1000} required value={form.capacity} onChange={(e) => setForm({ ...form, capacity: e.target.value })} />
        </div>
        <div className="actions full">
          <button type="submit" disabled={action.busy || form.weekdays.size === 0}>
            {action.busy ? "Publishing…" : "Publish"}
          </button>
        </div>
      </form>
      <Outcome message={action.message} />
    </section>
  );
}
