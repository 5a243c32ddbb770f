// @ts-check
// One source for the Grafana dashboard of the cluster and the local vmui dashboard; see generate.js.
const { dashboard, query, row, timeseries, stat, bargauge, stateTimeline } = require("./panels");

module.exports = dashboard("booking-funnel", "clinic-booking-funnel", "Clinic / Booking funnel", ["clinic", "booking"], {
  description: "Holds, confirmations, cancellations, expiries and rejections from booking_outcomes_total and booking_expired_total; reschedules, late refusals and waitlists; live availability streams (GET /api/v1/availability/stream) from the edge's live_availability_* metrics.",
  rows: [
    row("Funnel", [
      stat("Held/s", [6, 4], "ops", [
        query(`sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))`, "held"),
      ]),
      stat("Booking success rate", [6, 4], "percentunit", [
        query(
          `sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))
/
sum(rate(booking_outcomes_total{service="booking",outcome=~"held|rejected_full|rejected_duplicate|rejected_past"}[$__rate_interval]))`,
          "success",
        ),
      ], { description: "Seats held / (held + rejected: full, duplicate, past). Idempotent replays excluded." }),
      stat("Confirmed / held", [6, 4], "percentunit", [
        query(
          `sum(rate(booking_outcomes_total{service="booking",outcome=~"confirmed"}[$__rate_interval])) / sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))`,
          "confirmed",
        ),
      ]),
      stat("Expired / held", [6, 4], "percentunit", [
        query(
          `sum(rate(booking_expired_total{service="booking"}[$__rate_interval])) / sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))`,
          "expired",
        ),
      ], {
        description: "Holds the sweeper returned: the patient never confirmed within the hold TTL.",
        mayBeEmpty: "holds lapse only when not confirmed within HOLD_TTL_MS (2 minutes).",
      }),
      bargauge("Outcomes in the selected range", [12, 8], "short", [
        query(`sum by (outcome) (increase(booking_outcomes_total{service="booking"}[$__range]))`, "{{outcome}}"),
        query(`sum(increase(booking_expired_total{service="booking"}[$__range]))`, "expired"),
      ]),
      timeseries("Bookings/s: held, confirmed, cancelled, expired", [12, 8], "ops", [
        query(`sum(rate(booking_outcomes_total{service="booking",outcome=~"held"}[$__rate_interval]))`, "held"),
        query(`sum(rate(booking_outcomes_total{service="booking",outcome=~"confirmed"}[$__rate_interval]))`, "confirmed"),
        query(`sum(rate(booking_outcomes_total{service="booking",outcome=~"cancelled"}[$__rate_interval]))`, "cancelled"),
        query(`sum(rate(booking_expired_total{service="booking"}[$__rate_interval]))`, "expired"),
        query(`sum(rate(booking_outcomes_total{service="booking",outcome=~"replayed"}[$__rate_interval]))`, "replayed (idempotent retry)"),
      ]),
    ]),
    row("Rejections", [
      timeseries("Rejections/s by reason", [12, 8], "ops", [
        query(
          `sum by (outcome) (rate(booking_outcomes_total{service="booking",outcome=~"rejected_.*|confirm_rejected|cancel_rejected"}[$__rate_interval]))`,
          "{{outcome}}",
        ),
      ], { stacked: true }),
      timeseries("Expired holds/s by shard", [12, 8], "ops", [
        query(`sum by (shard) (rate(booking_expired_total{service="booking"}[$__rate_interval]))`, "shard {{shard}}"),
      ], { mayBeEmpty: "holds lapse only when not confirmed within HOLD_TTL_MS (2 minutes)." }),
    ]),
    row("Latency of the booking path", [
      timeseries("CreateBooking (gRPC) latency", [12, 8], "s", [
        query(
          `histogram_quantile(0.5, sum by (grpc_method, le) (rate(grpc_server_handling_seconds_bucket{service="booking",grpc_method="CreateBooking"}[$__rate_interval])))`,
          "CreateBooking p50",
        ),
        query(
          `histogram_quantile(0.95, sum by (grpc_method, le) (rate(grpc_server_handling_seconds_bucket{service="booking",grpc_method="CreateBooking"}[$__rate_interval])))`,
          "CreateBooking p95",
        ),
        query(
          `histogram_quantile(0.99, sum by (grpc_method, le) (rate(grpc_server_handling_seconds_bucket{service="booking",grpc_method="CreateBooking"}[$__rate_interval])))`,
          "CreateBooking p99",
        ),
      ]),
      timeseries("POST /api/v1/bookings (edge) latency", [12, 8], "s", [
        query(
          `histogram_quantile(0.5, sum by (route, le) (rate(http_request_duration_seconds_bucket{service="edge",method="POST",route="/api/v1/bookings"}[$__rate_interval])))`,
          "edge p50",
        ),
        query(
          `histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket{service="edge",method="POST",route="/api/v1/bookings"}[$__rate_interval])))`,
          "edge p95",
        ),
        query(
          `histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{service="edge",method="POST",route="/api/v1/bookings"}[$__rate_interval])))`,
          "edge p99",
        ),
      ]),
      timeseries("Booking service calls/s by method and code", [24, 8], "reqps", [
        query(
          `sum by (grpc_method, grpc_code) (rate(grpc_server_handled_total{service="booking",grpc_service!~"grpc[.]health[.].*|grpc[.]reflection[.].*"}[$__rate_interval]))`,
          "{{grpc_method}} {{grpc_code}}",
        ),
      ]),
    ]),
    row("Reschedules, cancellation window, waitlist", [
      timeseries("Reschedules and late refusals per minute", [8, 8], "short", [
        query(
          `sum by (outcome) (rate(booking_outcomes_total{outcome=~"rescheduled|reschedule_rejected|reschedule_too_late|cancel_too_late"}[$__rate_interval])) * 60`,
          "{{outcome}}",
        ),
      ], {
        description: "Moves made, moves refused (full, duplicate, in progress, cap reached), and patients' cancels or " +
          "moves refused inside the doctor's cancellation window (CANCELLATION_TOO_LATE).",
        mayBeEmpty: "only moves and refused late cancels show here.",
      }),
      timeseries("Waitlist length by shard", [8, 8], "short", [
        query(`max by (shard) (booking_waitlist_entries{state="waiting"})`, "shard {{shard}}"),
      ], { description: "Patients waiting for a seat of a full slot (read from the shards at each scrape; the max over replicas)." }),
      timeseries("Waitlist offers: held now, taken, lapsed", [8, 8], "short", [
        query(`sum by (state) (max by (shard, state) (booking_waitlist_entries{state=~"offered|booked|lapsed"}))`, "{{state}}"),
      ], {
        description: "Seats offered to waiting patients: still held for them (offered), confirmed (booked), or lapsed and " +
          "passed on to the next in line. Totals over all shards; their increase is the offers made.",
      }),
    ]),
    row("Live availability (edge)", [
      timeseries("Open streams and watched slots", [8, 8], "short", [
        query(`sum(live_availability_streams{service="edge"})`, "open streams"),
        query(`sum(live_availability_watched_slots{service="edge"})`, "watched slots (summed over replicas)"),
      ], { description: "Server-Sent Events streams open on the edges, and the slots they watch (events for other slots are dropped)." }),
      timeseries("Events received and updates pushed/s", [8, 8], "ops", [
        query(
          `sum by (watched) (rate(live_availability_events_received_total{service="edge"}[$__rate_interval]))`,
          "events received, watched={{watched}}",
        ),
        query(`sum(rate(live_availability_updates_pushed_total{service="edge"}[$__rate_interval]))`, "updates pushed"),
        query(`sum(rate(live_availability_updates_dropped_total{service="edge"}[$__rate_interval]))`, "updates dropped (slow clients)"),
      ], {
        description: "Booking and slot events the edges consumed (every replica reads every event), by whether a stream " +
          "watched their slot; availability messages written to streams; updates replaced by a newer one while " +
          "a slow client was not reading.",
      }),
      timeseries("Seat reads/s: made and coalesced", [8, 8], "ops", [
        query(`sum by (outcome) (rate(live_availability_reads_total{service="edge"}[$__rate_interval]))`, "reads {{outcome}}"),
        query(`sum(rate(live_availability_reads_coalesced_total{service="edge"}[$__rate_interval]))`, "coalesced"),
      ], {
        description: "Slots read through BookingService.GetAvailability for streams, by outcome, and read requests that " +
          "joined one already waiting (a burst of bookings on a slot costs a handful of reads).",
      }),
      timeseries("Streams refused/s by reason", [12, 6], "ops", [
        query(`sum by (reason) (rate(live_availability_streams_refused_total{service="edge"}[$__rate_interval]))`, "{{reason}}"),
      ], {
        description: "per_address: over LIVE_MAX_STREAMS_PER_ADDRESS (429); replica_full: over LIVE_MAX_STREAMS (503). " +
          "Both series exist from the edge's start, so a healthy platform draws them at zero.",
      }),
      stateTimeline("Event feed up (per edge)", [12, 6], "short", [
        query(`min by (instance) (live_availability_feed_up{service="edge"})`, "{{instance}}"),
      ], { description: "Whether each edge's consumer of booking and slot events is in its group and fetching; while it is not, streams miss changes." }),
    ]),
  ],
});
