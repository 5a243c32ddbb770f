import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useLocation, useParams, useSearchParams } from "react-router";
import { api, call, newIdempotencyKey } from "../api/client";
import { describeError, errorCode, messageFor } from "../api/errors";
import { slotsBetween } from "../api/queries";
import type { Booking, Slot, SlotAvailability } from "../api/types";
import { useSession } from "../auth/session";
import { Field } from "../components/field";
import { LoadState, Message, Page } from "../components/page";
import { WeekNav } from "../components/week-nav";
import { useLoad, useNow } from "../hooks";
import { useLiveSeats } from "../live-seats";
import { addDays, formatCountdown, formatDay, formatRange, parseIsoDate, sameDay, startOfWeek } from "../time";

/** The patient's details for the booking, kept for the page's lifetime (not stored anywhere). */
interface Details {
  name: string;
  contact: string;
  phone: string;
}
let rememberedDetails: Details | undefined;

export function seatsText(seats: SlotAvailability | undefined): string {
  if (!seats) return "…";
  if (seats.remaining <= 0) return "Full";
  return `${seats.remaining} of ${seats.capacity} ${seats.capacity === 1 ? "seat" : "seats"} left`;
}

/** One doctor's week: slots by day in the patient's time zone, seats kept up to date, and booking. */
export function DoctorWeekPage() {
  const { doctorId = "" } = useParams();
  const [params] = useSearchParams();
  const weekStart = startOfWeek(parseIsoDate(params.get("week")) ?? new Date());
  const weekKey = weekStart.getTime();
  const doctor = useLoad(() => call(api.GET("/api/v1/doctors/{doctorId}", { params: { path: { doctorId } } })), [doctorId]);
  const slots = useLoad(() => slotsBetween(doctorId, weekStart, addDays(weekStart, 7)), [doctorId, weekKey]);
  const [chosen, setChosen] = useState<Slot>();
  const { seats, refresh: refreshSeats } = useLiveSeats((slots.data ?? []).map((s) => s.id));

  const days = Array.from({ length: 7 }, (_, i) => addDays(weekStart, i));
  const title = doctor.data ? doctor.data.name : "Doctor";
  return (
    <Page title={title} intro={doctor.data ? doctor.data.specialization : undefined}>
      <LoadState loading={doctor.loading && !doctor.data} error={doctor.error} />
      <WeekNav weekStart={weekStart} basePath={`/doctors/${doctorId}`} />
      {chosen ? <BookingPanel slot={chosen} doctorName={title} onDone={() => setChosen(undefined)} onSeatsChanged={refreshSeats} /> : null}
      <LoadState loading={slots.loading && !slots.data} error={slots.error} empty={!slots.loading && (slots.data ?? []).length === 0 && "No times offered this week."} />
      <div className="week">
        {days.map((day) => {
          const daySlots = (slots.data ?? []).filter((s) => sameDay(new Date(s.startTime), day));
          if (daySlots.length === 0) return null;
          const headingId = `day-${day.getTime()}`;
          return (
            <section key={day.getTime()} aria-labelledby={headingId} className="day">
              <h2 id={headingId}>{formatDay(day)}</h2>
              <ul className="slots">
                {daySlots.map((slot) => (
                  <SlotRow key={slot.id} slot={slot} seats={seats.get(slot.id)} chosen={chosen?.id === slot.id} onChoose={() => setChosen(slot)} />
                ))}
              </ul>
            </section>
          );
        })}
      </div>
    </Page>
  );
}

function SlotRow({ slot, seats, chosen, onChoose }: { slot: Slot; seats: SlotAvailability | undefined; chosen: boolean; onChoose: () => void }) {
  const { account } = useSession();
  const location = useLocation();
  const started = new Date(slot.startTime).getTime() <= Date.now();
  const full = seats !== undefined && seats.remaining <= 0;
  const when = formatRange(slot.startTime, slot.endTime);
  // The visible word starts the button's name (WCAG 2.5.3), the time tells the buttons apart.
  const label = full ? "Full" : chosen ? "Chosen" : "Book";
  return (
    <li className={`slot${full ? " slot-full" : ""}`} data-slot-id={slot.id}>
      <span className="slot-time">{when}</span>
      <span className="slot-seats" aria-live="polite">
        {started ? "Started" : seatsText(seats)}
      </span>
      {started ? null : !account ? (
        <Link className="button secondary" to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`}>
          Sign in to book
        </Link>
      ) : (
        <button type="button" className="secondary" disabled={full || chosen} onClick={onChoose} aria-label={`${label} ${when}`}>
          {label}
        </button>
      )}
    </li>
  );
}

type HoldState =
  | { step: "details" }
  | { step: "held"; booking: Booking; deadline: number }
  | { step: "confirmed"; booking: Booking }
  | { step: "released" }
  | { step: "lapsed" };

/**
 * Booking one slot: the patient's details, then a hold (a seat is theirs for two minutes, the
 * countdown shows how long), then confirm or let it go. A hold that runs out gives the seat back.
 */
function BookingPanel({ slot, doctorName, onDone, onSeatsChanged }: { slot: Slot; doctorName: string; onDone: () => void; onSeatsChanged: () => void }) {
  const { account } = useSession();
  const [details, setDetails] = useState<Details>(rememberedDetails ?? { name: "", contact: account?.email ?? "", phone: "" });
  const [state, setState] = useState<HoldState>({ step: "details" });
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const now = useNow(500);
  const when = `${formatDay(new Date(slot.startTime))}, ${formatRange(slot.startTime, slot.endTime)}`;

  useEffect(() => heading.current?.focus(), [slot.id]);

  const remainingMs = state.step === "held" ? state.deadline - now : 0;
  useEffect(() => {
    if (state.step === "held" && remainingMs <= 0) {
      setState({ step: "lapsed" });
      setError(undefined);
      onSeatsChanged();
    }
  }, [state.step, remainingMs, onSeatsChanged]);

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (err) {
      setError(describeError(err));
      const code = errorCode(err);
      if (code === "BOOKING_EXPIRED") setState({ step: "lapsed" });
      // The seats changed under us: show the truth at once rather than at the next poll.
      if (code === "SLOT_FULL" || code === "BOOKING_EXPIRED" || code === "ALREADY_BOOKED") onSeatsChanged();
    } finally {
      setBusy(false);
    }
  };

  const hold = (event: FormEvent) => {
    event.preventDefault();
    rememberedDetails = details;
    return act(async () => {
      const booking = await call(
        api.POST("/api/v1/bookings", {
          params: { header: { "idempotency-key": newIdempotencyKey() } },
          body: {
            slotId: slot.id,
            patientName: details.name.trim(),
            patientContact: details.contact.trim(),
            ...(details.phone.trim() ? { patientPhone: details.phone.trim() } : {}),
          },
        }),
      );
      // The hold's length by the server's own clock (expire - create), counted down on ours.
      const ttl = booking.expireTime ? new Date(booking.expireTime).getTime() - new Date(booking.createTime).getTime() : 120_000;
      setState({ step: "held", booking, deadline: Date.now() + ttl });
      onSeatsChanged();
    });
  };

  const confirm = (booking: Booking) =>
    act(async () => {
      const confirmed = await call(api.POST("/api/v1/bookings/{bookingId}/confirm", { params: { path: { bookingId: booking.id } } }));
      setState({ step: "confirmed", booking: confirmed });
    });

  const release = (booking: Booking) =>
    act(async () => {
      await call(api.POST("/api/v1/bookings/{bookingId}/cancel", { params: { path: { bookingId: booking.id } } }));
      setState({ step: "released" });
      onSeatsChanged();
    });

  // The way out of the panel once the hold has ended one way or another.
  const close = (
    <button type="button" className="secondary" onClick={onDone}>
      Close
    </button>
  );

  return (
    <section className="card panel" aria-labelledby="booking-heading">
      <h2 id="booking-heading" ref={heading} tabIndex={-1}>
        {doctorName}: {when}
      </h2>
      {state.step === "details" ? (
        <form className="form" onSubmit={hold}>
          <Field id="booking-name" data-field="patientName" label="Your name" autoComplete="name" required maxLength={200} value={details.name} onValue={(name) => setDetails({ ...details, name })} />
          <Field
            id="booking-contact"
            data-field="patientContact"
            label="E-mail address or phone number"
            hint="For the confirmation. A phone number starts with + and the country code."
            autoComplete="email"
            required
            value={details.contact}
            onValue={(contact) => setDetails({ ...details, contact })}
          />
          <Field
            id="booking-phone"
            data-field="patientPhone"
            label="Mobile for text messages (optional)"
            type="tel"
            autoComplete="tel"
            placeholder="+15551234567"
            value={details.phone}
            onValue={(phone) => setDetails({ ...details, phone })}
          />
          <div className="actions">
            <button type="submit" disabled={busy}>
              {busy ? "Holding…" : "Hold this seat"}
            </button>
            <button type="button" className="secondary" onClick={onDone}>
              Choose another time
            </button>
          </div>
        </form>
      ) : null}
      {state.step === "held" ? (
        <>
          <p>
            A seat is held for you. Confirm within{" "}
            <strong className="countdown" role="timer" aria-live="off">
              {formatCountdown(remainingMs)}
            </strong>{" "}
            or it goes back to others.
          </p>
          {/* Announced at the one-minute and fifteen-second marks only, not every second. */}
          <p className="visually-hidden" aria-live="polite">
            {remainingMs <= 60_000 && remainingMs > 15_000 ? "One minute left to confirm." : remainingMs <= 15_000 ? "Fifteen seconds left to confirm." : ""}
          </p>
          <div className="actions">
            <button type="button" disabled={busy} onClick={() => void confirm(state.booking)}>
              Confirm booking
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={() => void release(state.booking)}>
              Let it go
            </button>
          </div>
        </>
      ) : null}
      {state.step === "confirmed" ? (
        <>
          <Message kind="success">Booked: {when} with {doctorName}.</Message>
          <div className="actions">
            <Link className="button" to="/bookings">
              My bookings
            </Link>
            {close}
          </div>
        </>
      ) : null}
      {state.step === "released" ? (
        <>
          <Message kind="success">The seat was given back.</Message>
          {close}
        </>
      ) : null}
      {state.step === "lapsed" ? (
        <>
          <Message kind="error">{messageFor("BOOKING_EXPIRED")}</Message>
          <div className="actions">
            <button type="button" onClick={() => setState({ step: "details" })}>
              Try again
            </button>
            {close}
          </div>
        </>
      ) : null}
      {error && state.step !== "lapsed" ? <Message kind="error">{error}</Message> : null}
    </section>
  );
}
