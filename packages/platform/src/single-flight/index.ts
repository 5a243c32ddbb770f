/** @clinic/platform/single-flight: One load per key at a time. */
export { SingleFlight } from "./single-flight";
