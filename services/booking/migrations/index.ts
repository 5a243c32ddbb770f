import type { Migration } from "@clinic/platform/db";
import { createBookingShard } from "./20261130170000_create_booking_shard";
import { addPatientPhone } from "./20261130180000_add_patient_phone";
import { bookSeatFunction } from "./20261205120000_book_seat_function";
import { createBookingsArchive } from "./20261210120000_create_bookings_archive";
import { bookingPoliciesAndReschedule } from "./20261212120000_booking_policies_and_reschedule";

/** Every migration of a booking shard database (all shards share one schema), in order. */
export const migrations: readonly Migration[] = [createBookingShard, addPatientPhone, bookSeatFunction, createBookingsArchive, bookingPoliciesAndReschedule];
