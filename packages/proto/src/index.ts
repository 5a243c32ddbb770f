// Entry point over the code that `npm run generate` writes into ./gen (never edited by hand).
export * as doctorV1 from "./gen/clinic/doctor/v1/doctor_service";
export * as slotV1 from "./gen/clinic/slot/v1/slot_service";
export * as bookingV1 from "./gen/clinic/booking/v1/booking_service";
export * as eventsV1 from "./gen/clinic/events/v1/events";
export * as notifierV1 from "./gen/clinic/notifier/v1/notifier_service";

export { descriptorSetPath } from "./descriptor-set";
export { MessageShapes, type ShapeCheck } from "./message-shape";
