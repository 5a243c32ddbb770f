// @ts-check
// One source for the Grafana dashboard of the cluster and the local vmui dashboard; see generate.js.
/** @type {import("./generate").Dashboard} */
module.exports = {
  file: "booking-funnel",
  uid: "clinic-booking-funnel",
  title: "Clinic / Booking funnel",
  description:
    "Holds, confirmations, cancellations, expiries and rejections from booking_outcomes_total and booking_expired_total; " +
    "reschedules, late refusals and waitlists; live availability streams (GET /api/v1/availability/stream) from the edge's live_availability_* metrics.",
  tags: ["clinic", "booking"],
  rows: [
    {
      title: "Funnel",
      panels: [
        {
          type: "stat",
          title: "Held/s",
          width: 6,
          height: 4,
          unit: "ops",
          queries: [
            {
              expr: `sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))`,
              legend: "held",
            },
          ],
        },
        {
          type: "stat",
          title: "Booking success rate",
          description: "Seats held / (held + rejected: full, duplicate, past). Idempotent replays excluded.",
          width: 6,
          height: 4,
          unit: "percentunit",
          queries: [
            {
              expr: `sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))
/
sum(rate(booking_outcomes_total{service="booking",outcome=~"held|rejected_full|rejected_duplicate|rejected_past"}[$__rate_interval]))`,
              legend: "success",
            },
          ],
        },
        {
          type: "stat",
          title: "Confirmed / held",
          width: 6,
          height: 4,
          unit: "percentunit",
          queries: [
            {
              expr: `sum(rate(booking_outcomes_total{service="booking",outcome=~"confirmed"}[$__rate_interval])) / sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))`,
              legend: "confirmed",
            },
          ],
        },
        {
          type: "stat",
          title: "Expired / held",
          description: "Holds the sweeper returned: the patient never confirmed within the hold TTL.",
          width: 6,
          height: 4,
          unit: "percentunit",
          mayBeEmpty: "holds lapse only when not confirmed within HOLD_TTL_MS (2 minutes).",
          queries: [
            {
              expr: `sum(rate(booking_expired_total{service="booking"}[$__rate_interval])) / sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))`,
              legend: "expired",
            },
          ],
        },
        {
          type: "bargauge",
          title: "Outcomes in the selected range",
          width: 12,
          height: 8,
          unit: "short",
          queries: [
            {
              expr: `sum by (outcome) (increase(booking_outcomes_total{service="booking"}[$__range]))`,
              legend: "{{outcome}}",
            },
            { expr: `sum(increase(booking_expired_total{service="booking"}[$__range]))`, legend: "expired" },
          ],
        },
        {
          type: "timeseries",
          title: "Bookings/s: held, confirmed, cancelled, expired",
          width: 12,
          height: 8,
          unit: "ops",
          queries: [
            {
              expr: `sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))`,
              legend: "held",
            },
            {
              expr: `sum(rate(booking_outcomes_total{service="booking",outcome=~"confirmed"}[$__rate_interval]))`,
              legend: "confirmed",
            },
            {
              expr: `sum(rate(booking_outcomes_total{service="booking",outcome=~"cancelled"}[$__rate_interval]))`,
              legend: "cancelled",
            },
            { expr: `sum(rate(booking_expired_total{service="booking"}[$__rate_interval]))`, legend: "expired" },
            {
              expr: `sum(rate(booking_outcomes_total{service="booking",outcome=~"replayed"}[$__rate_interval]))`,
              legend: "replayed (idempotent retry)",
            },
          ],
        },
      ],
    },
    {
      title: "Rejections",
      panels: [
        {
          type: "timeseries",
          title: "Rejections/s by reason",
          width: 12,
          height: 8,
          unit: "ops",
          stacked: true,
          queries: [
            {
              expr: `sum by (outcome) (rate(booking_outcomes_total{service="booking",outcome=~"rejected_.*|confirm_rejected|cancel_rejected"}[$__rate_interval]))`,
              legend: "{{outcome}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Expired holds/s by shard",
          width: 12,
          height: 8,
          unit: "ops",
          mayBeEmpty: "holds lapse only when not confirmed within HOLD_TTL_MS (2 minutes).",
          queries: [
            {
              expr: `sum by (shard) (rate(booking_expired_total{service="booking"}[$__rate_interval]))`,
              legend: "shard {{shard}}",
            },
          ],
        },
      ],
    },
    {
      title: "Latency of the booking path",
      panels: [
        {
          type: "timeseries",
          title: "CreateBooking (gRPC) latency",
          width: 12,
          height: 8,
          unit: "s",
          queries: [
            {
              expr: `histogram_quantile(0.5, sum by (grpc_method, le) (rate(grpc_server_handling_seconds_bucket{service="booking",grpc_method="CreateBooking"}[$__rate_interval])))`,
              legend: "CreateBooking p50",
            },
            {
              expr: `histogram_quantile(0.95, sum by (grpc_method, le) (rate(grpc_server_handling_seconds_bucket{service="booking",grpc_method="CreateBooking"}[$__rate_interval])))`,
              legend: "CreateBooking p95",
            },
            {
              expr: `histogram_quantile(0.99, sum by (grpc_method, le) (rate(grpc_server_handling_seconds_bucket{service="booking",grpc_method="CreateBooking"}[$__rate_interval])))`,
              legend: "CreateBooking p99",
            },
          ],
        },
        {
          type: "timeseries",
          title: "POST /api/v1/bookings (edge) latency",
          width: 12,
          height: 8,
          unit: "s",
          queries: [
            {
              expr: `histogram_quantile(0.5, sum by (route, le) (rate(http_request_duration_seconds_bucket{service="edge",method="POST",route="/api/v1/bookings"}[$__rate_interval])))`,
              legend: "edge p50",
            },
            {
              expr: `histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket{service="edge",method="POST",route="/api/v1/bookings"}[$__rate_interval])))`,
              legend: "edge p95",
            },
            {
              expr: `histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{service="edge",method="POST",route="/api/v1/bookings"}[$__rate_interval])))`,
              legend: "edge p99",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Booking service calls/s by method and code",
          width: 24,
          height: 8,
          unit: "reqps",
          queries: [
            {
              expr: `sum by (grpc_method, grpc_code) (rate(grpc_server_handled_total{service="booking",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval]))`,
              legend: "{{grpc_method}} {{grpc_code}}",
            },
          ],
        },
      ],
    },
    {
      title: "Reschedules, cancellation window, waitlist",
      panels: [
        {
          type: "timeseries",
          title: "Reschedules and late refusals per minute",
          description:
            "Moves made, moves refused (full, duplicate, in progress, cap reached), and patients' cancels or moves refused inside the doctor's cancellation window (CANCELLATION_TOO_LATE).",
          width: 8,
          height: 8,
          unit: "short",
          mayBeEmpty: "only moves and refused late cancels show here.",
          queries: [
            {
              expr: `sum by (outcome) (rate(booking_outcomes_total{outcome=~"rescheduled|reschedule_rejected|reschedule_too_late|cancel_too_late"}[$__rate_interval])) * 60`,
              legend: "{{outcome}}",
            },
          ],
        },
        {
          type: "timeseries",
          title: "Waitlist length by shard",
          description: "Patients waiting for a seat of a full slot (read from the shards at each scrape; the max over replicas).",
          width: 8,
          height: 8,
          unit: "short",
          queries: [{ expr: `max by (shard) (booking_waitlist_entries{state="waiting"})`, legend: "shard {{shard}}" }],
        },
        {
          type: "timeseries",
          title: "Waitlist offers: held now, taken, lapsed",
          description:
            "Seats offered to waiting patients: still held for them (offered), confirmed (booked), or lapsed and passed on to the next in line. Totals over all shards; their increase is the offers made.",
          width: 8,
          height: 8,
          unit: "short",
          queries: [{ expr: `sum by (state) (max by (shard, state) (booking_waitlist_entries{state=~"offered|booked|lapsed"}))`, legend: "{{state}}" }],
        },
      ],
    },
    {
      title: "Live availability (edge)",
      panels: [
        {
          type: "timeseries",
          title: "Open streams and watched slots",
          description: "Server-Sent Events streams open on the edges, and the slots they watch (events for other slots are dropped).",
          width: 8,
          height: 8,
          unit: "short",
          queries: [
            { expr: `sum(live_availability_streams{service="edge"})`, legend: "open streams" },
            { expr: `sum(live_availability_watched_slots{service="edge"})`, legend: "watched slots (summed over replicas)" },
          ],
        },
        {
          type: "timeseries",
          title: "Events received and updates pushed/s",
          description:
            "Booking and slot events the edges consumed (every replica reads every event), by whether a stream watched their slot; " +
            "availability messages written to streams; updates replaced by a newer one while a slow client was not reading.",
          width: 8,
          height: 8,
          unit: "ops",
          queries: [
            {
              expr: `sum by (watched) (rate(live_availability_events_received_total{service="edge"}[$__rate_interval]))`,
              legend: "events received, watched={{watched}}",
            },
            { expr: `sum(rate(live_availability_updates_pushed_total{service="edge"}[$__rate_interval]))`, legend: "updates pushed" },
            { expr: `sum(rate(live_availability_updates_dropped_total{service="edge"}[$__rate_interval]))`, legend: "updates dropped (slow clients)" },
          ],
        },
        {
          type: "timeseries",
          title: "Seat reads/s: made and coalesced",
          description:
            "Slots read through BookingService.GetAvailability for streams, by outcome, and read requests that joined one already waiting " +
            "(a burst of bookings on a slot costs a handful of reads).",
          width: 8,
          height: 8,
          unit: "ops",
          queries: [
            { expr: `sum by (outcome) (rate(live_availability_reads_total{service="edge"}[$__rate_interval]))`, legend: "reads {{outcome}}" },
            { expr: `sum(rate(live_availability_reads_coalesced_total{service="edge"}[$__rate_interval]))`, legend: "coalesced" },
          ],
        },
        {
          type: "timeseries",
          title: "Streams refused/s by reason",
          description:
            "per_address: over LIVE_MAX_STREAMS_PER_ADDRESS (429); replica_full: over LIVE_MAX_STREAMS (503). Both series exist from the " +
            "edge's start, so a healthy platform draws them at zero.",
          width: 12,
          height: 6,
          unit: "ops",
          queries: [
            { expr: `sum by (reason) (rate(live_availability_streams_refused_total{service="edge"}[$__rate_interval]))`, legend: "{{reason}}" },
          ],
        },
        {
          type: "state-timeline",
          title: "Event feed up (per edge)",
          description: "Whether each edge's consumer of booking and slot events is in its group and fetching; while it is not, streams miss changes.",
          width: 12,
          height: 6,
          unit: "short",
          queries: [{ expr: `min by (instance) (live_availability_feed_up{service="edge"})`, legend: "{{instance}}" }],
        },
      ],
    },
  ],
};
