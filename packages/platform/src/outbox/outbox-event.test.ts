import { eventsV1 } from "@clinic/proto";
import { MalformedMessageError } from "@clinic/proto/shapes";
import { protoOutboxEvent } from "./outbox-event";

describe("protoOutboxEvent: events are checked against their proto type before encoding", () => {
  const event = { topic: "clinic.doctors.v1", type: "doctor.created", key: "d1", messageType: "clinic.events.v1.DoctorEvent" };

  it("encodes a well-formed event with the envelope given to both the row and the message", () => {
    const row = protoOutboxEvent(eventsV1.DoctorEvent, event, (envelope): eventsV1.DoctorEvent => ({
      ...envelope,
      doctorId: "d1",
      payload: { $case: "created", value: { name: "Dr. A", specialization: "cardiology" } },
    }));
    const decoded = eventsV1.DoctorEvent.decode(row.payload);
    expect(decoded).toMatchObject({ eventId: row.eventId, doctorId: "d1", payload: { $case: "created", value: { name: "Dr. A" } } });
    expect(row).toMatchObject({ topic: event.topic, type: event.type, key: "d1" });
  });

  it("throws naming the field when a string field is missing, instead of encoding the text 'undefined'", () => {
    // What the check prevents: the plain object encodes, and the consumer reads "undefined".
    const plain = { name: "Dr. A" } as unknown as eventsV1.DoctorCreated;
    const unchecked = eventsV1.DoctorEvent.encode({ eventId: "e", occurTime: new Date(), doctorId: "d1", payload: { $case: "created", value: plain } });
    expect((eventsV1.DoctorEvent.decode(unchecked.finish()).payload?.value as eventsV1.DoctorCreated).specialization).toBe("undefined");

    const build = () =>
      protoOutboxEvent(eventsV1.DoctorEvent, event, (envelope): eventsV1.DoctorEvent => ({ ...envelope, doctorId: "d1", payload: { $case: "created", value: plain } }));
    expect(build).toThrow(MalformedMessageError);
    expect(build).toThrow(
      "clinic.events.v1.DoctorEvent is malformed: DoctorEvent.payload.created: DoctorCreated.specialization is missing; expected string",
    );
    expect(() =>
      protoOutboxEvent(eventsV1.DoctorEvent, event, (envelope) => ({ ...envelope, payload: undefined }) as unknown as eventsV1.DoctorEvent),
    ).toThrow("DoctorEvent.doctorId is missing; expected string");
  });

  it("refuses a message type it does not know, so a typo cannot switch the check off", () => {
    expect(() =>
      protoOutboxEvent(eventsV1.DoctorEvent, { ...event, messageType: "clinic.events.v1.DoctorEvnt" }, (envelope) => ({
        ...envelope,
        doctorId: "d1",
        payload: undefined,
      })),
    ).toThrow("no proto message type clinic.events.v1.DoctorEvnt");
  });
});
