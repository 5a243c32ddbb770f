/**
 * Every Kafka topic of the platform, named once. Services take these as their config defaults
 * and producers, consumers and the load test refer to them here instead of spelling the name.
 * `config/kafka-topics.json` lists the same topics with their partitions and retention for the
 * scripts that create them (`topics.test.ts` keeps the two lists equal).
 */
export const TOPICS = {
  /** booking.created / confirmed / cancelled / expired ..., keyed by slot. */
  bookingEvents: "clinic.booking.events.v1",
  /** Steps of the reschedule saga (a move of a booking to another shard). */
  bookingReschedules: "clinic.booking.reschedules.v1",
  /** Slot created / changed / deleted, keyed by slot. */
  slotEvents: "clinic.slot.events.v1",
  /** Doctor created / changed / deleted. */
  doctorEvents: "clinic.doctor.events.v1",
  /** Booking events the notifier gave up on, kept for inspection and replay. */
  bookingsDeadLetters: "bookings.dlq",
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];
