import type { ReactNode } from "react";
import { Link } from "react-router";
import { api, call } from "../api/client";
import { allPages, doctorsById } from "../api/queries";
import type { Booking, Doctor } from "../api/types";
import { useSession } from "../auth/session";
import { DataTable } from "../components/data-table";
import { LoadState, Outcome, Page } from "../components/page";
import { useAction, useLoad } from "../hooks";
import { formatDateTime, formatTime } from "../time";

const STATUS_LABEL: Record<Booking["status"], string> = {
  pending: "Held, not confirmed",
  confirmed: "Confirmed",
  cancelled: "Cancelled",
  expired: "Hold lapsed",
};

/** Bookings a request: small pages, so a long history arrives in steps (up to 1000 bookings). */
const MY_BOOKINGS_PAGE_SIZE = 25;
const MY_BOOKINGS_MAX_PAGES = 40;

const isActive = (b: Booking) => b.status === "pending" || b.status === "confirmed";
const startOf = (b: Booking) => (b.slotStartTime ? new Date(b.slotStartTime).getTime() : 0);

/** A patient's bookings: upcoming ones (confirm a hold, cancel), then the past and the cancelled. */
export function MyBookingsPage() {
  const { account } = useSession();
  const patientId = account?.id ?? "";
  const bookings = useLoad(async () => {
    // Every page: upcoming and past are sorted by the slot's time, the list comes by booking time.
    const list = await allPages(async (pageToken) => {
      const page = await call(
        api.GET("/api/v1/patients/{patientId}/bookings", {
          params: { path: { patientId }, query: { pageSize: MY_BOOKINGS_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) } },
        }),
      );
      return { items: page.bookings, next: page.nextPageToken };
    }, MY_BOOKINGS_MAX_PAGES);
    const doctors = await doctorsById(list.map((b) => b.doctorId));
    return { list, doctors };
  }, [patientId]);
  const action = useAction();

  const now = Date.now();
  const list = bookings.data?.list ?? [];
  const upcoming = list.filter((b) => isActive(b) && startOf(b) > now).sort((a, b) => startOf(a) - startOf(b));
  const past = list.filter((b) => !upcoming.includes(b)).sort((a, b) => startOf(b) - startOf(a));

  const cancel = (booking: Booking) =>
    action.run(async () => {
      await call(api.POST("/api/v1/bookings/{bookingId}/cancel", { params: { path: { bookingId: booking.id } } }));
      bookings.reload();
      return "Booking cancelled; the seat is free for others again.";
    });
  const confirm = (booking: Booking) =>
    action.run(async () => {
      await call(api.POST("/api/v1/bookings/{bookingId}/confirm", { params: { path: { bookingId: booking.id } } }));
      bookings.reload();
      return "Booking confirmed.";
    });

  return (
    <Page title="My bookings">
      <Outcome message={action.message} />
      <LoadState loading={bookings.loading && !bookings.data} error={bookings.error} />
      <h2>Upcoming</h2>
      {bookings.data && upcoming.length === 0 ? (
        <p className="muted">
          Nothing booked. <Link to="/doctors">Find a doctor</Link>.
        </p>
      ) : null}
      {upcoming.length > 0 ? (
        <BookingTable label="Upcoming bookings" bookings={upcoming} doctors={bookings.data?.doctors}>
          {(booking) => (
            <div className="actions">
              {booking.status === "pending" ? (
                <button type="button" disabled={action.busy} onClick={() => void confirm(booking)}>
                  Confirm
                </button>
              ) : null}
              <button type="button" className="danger" disabled={action.busy} onClick={() => void cancel(booking)}>
                Cancel
              </button>
            </div>
          )}
        </BookingTable>
      ) : null}
      <h2>Past and cancelled</h2>
      {bookings.data && past.length === 0 ? <p className="muted">None yet.</p> : null}
      {past.length > 0 ? <BookingTable label="Past and cancelled bookings" bookings={past} doctors={bookings.data?.doctors} /> : null}
    </Page>
  );
}

function BookingTable({
  label,
  bookings,
  doctors,
  children,
}: {
  label: string;
  bookings: Booking[];
  doctors: Map<string, Doctor> | undefined;
  children?: (booking: Booking) => ReactNode;
}) {
  return (
    <DataTable
      label={label}
      rows={bookings}
      rowAttributes={(booking) => ({ "data-booking-id": booking.id })}
      columns={[
        { header: "When", cell: (booking) => formatDateTime(booking.slotStartTime) },
        {
          header: "Doctor",
          cell: (booking) => {
            const doctor = doctors?.get(booking.doctorId);
            return doctor ? <Link to={`/doctors/${doctor.id}`}>{doctor.name}</Link> : "—";
          },
        },
        {
          header: "Status",
          cell: (booking) => (
            <>
              {STATUS_LABEL[booking.status]}
              {booking.status === "pending" && booking.expireTime ? <span className="muted"> (until {formatTime(booking.expireTime)})</span> : null}
            </>
          ),
        },
        // Actions only where the table is given them (upcoming bookings).
        children !== undefined && { header: "Actions", cell: children },
      ]}
    />
  );
}
