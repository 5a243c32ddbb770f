import { useEffect, useState, type FormEvent } from "react";
import { useParams, useSearchParams } from "react-router";
import { api, call } from "../api/client";
import { slotsBetween } from "../api/queries";
import type { Booking, Slot, SlotAvailability } from "../api/types";
import { useSession } from "../auth/session";
import { DataTable } from "../components/data-table";
import { Field } from "../components/field";
import { LoadState, Message, Outcome, Page } from "../components/page";
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
        <Field id={`capacity-${slot.id}`} label="Seats" type="number" min={1} max={1000} required value={capacity} onValue={setCapacity} />
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
          <DataTable
            label={`Bookings for ${when}`}
            rows={bookings}
            columns={[
              { header: "Patient", cell: (b) => b.patientName },
              { header: "Contact", cell: (b) => `${b.patientContact}${b.patientPhone ? `, ${b.patientPhone}` : ""}` },
              { header: "Status", cell: (b) => b.status },
            ]}
          />
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

/** The weekly schedule form's text fields (all but the zone and the weekdays). */
type TextKey = "startDate" | "endDate" | "dayStart" | "dayEnd" | "slotMinutes" | "capacity";

/** The hours and sizes of the weekly schedule, after its dates and days. */
const PUBLISH_FIELDS: { key: TextKey; id: string; label: string; type: string; min?: number; max?: number }[] = [
  { key: "dayStart", id: "publish-start", label: "Day starts", type: "time" },
  { key: "dayEnd", id: "publish-end", label: "Day ends", type: "time" },
  { key: "slotMinutes", id: "publish-length", label: "Minutes per slot", type: "number", min: 5, max: 1440 },
  { key: "capacity", id: "publish-capacity", label: "Seats per slot", type: "number", min: 1, max: 1000 },
];

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

  const bound = (key: TextKey) => ({ value: form[key], onValue: (value: string) => setForm({ ...form, [key]: value }) });

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
          <Field id="publish-from" label="From" type="date" required {...bound("startDate")} />
        </div>
        <div>
          <Field id="publish-to" label="To (inclusive)" type="date" required {...bound("endDate")} />
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
        {PUBLISH_FIELDS.map(({ key, ...field }) => (
          <div key={key}>
            <Field required {...field} {...bound(key)} />
          </div>
        ))}
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
