import type { components } from "./generated/schema";

/** The API's own shapes, named as the OpenAPI document names them. */
type Schemas = components["schemas"];
export type Doctor = Schemas["Doctor"];
export type Slot = Schemas["Slot"];
export type Booking = Schemas["Booking"];
export type BookingStatus = Booking["status"];
export type SlotAvailability = Schemas["SlotAvailability"];
export type DeadLetter = Schemas["DeadLetter"];
export type Account = Schemas["Account"];
export type Role = Account["role"];
export type TokenPair = Schemas["TokenPair"];
export type AuditEvent = Schemas["AuditEvent"];
export type ErrorBody = Schemas["Error"];
