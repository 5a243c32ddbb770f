{{/*
The five services: what they listen on and which gRPC service they serve. The ports are the
local stack's defaults (README), so a setting means the same thing everywhere.
*/}}
{{- define "clinic.components" -}}
edge: { protocol: http, port: 8080, metricsPort: 9464 }
doctor: { protocol: grpc, port: 50051, metricsPort: 9465, grpcService: clinic.doctor.v1.DoctorService }
slot: { protocol: grpc, port: 50052, metricsPort: 9466, grpcService: clinic.slot.v1.SlotService }
booking: { protocol: grpc, port: 50053, metricsPort: 9467, grpcService: clinic.booking.v1.BookingService }
notifier: { protocol: grpc, port: 50054, metricsPort: 9468, grpcService: clinic.notifier.v1.NotifierService }
{{- end -}}

{{/*
Who calls which gRPC method, read from the services' clients (services/edge/src/routes,
each service's src/app.ts, services/slot/src/doctor-client.ts and booking-client.ts,
services/doctor/src/booking-client.ts, services/booking/src/slot-client.ts).
The mesh allows exactly these calls. `idempotent` are the methods the callers themselves retry
(their `idempotentMethods`); the mesh retries those and nothing else.
*/}}
{{- define "clinic.calls" -}}
doctor:
  methods:
    CreateDoctor: { idempotent: false }
    GetDoctor: { idempotent: true }
    ListDoctors: { idempotent: true }
    UpdateDoctor: { idempotent: false }
    DeleteDoctor: { idempotent: false }
  callers:
    edge: [CreateDoctor, GetDoctor, ListDoctors, UpdateDoctor, DeleteDoctor]
    slot: [GetDoctor]
slot:
  methods:
    CreateSlot: { idempotent: false }
    CreateSlots: { idempotent: false }
    GetSlot: { idempotent: true }
    BatchGetSlots: { idempotent: true }
    ListSlots: { idempotent: true }
    UpdateSlotCapacity: { idempotent: false }
    DeleteSlot: { idempotent: false }
  callers:
    edge: [CreateSlot, CreateSlots, GetSlot, BatchGetSlots, ListSlots, UpdateSlotCapacity, DeleteSlot]
    booking: [GetSlot, BatchGetSlots]
booking:
  methods:
    CreateBooking: { idempotent: false }
    ConfirmBooking: { idempotent: false }
    CancelBooking: { idempotent: false }
    GetBooking: { idempotent: true }
    ListBookings: { idempotent: true }
    ListAllBookings: { idempotent: true }
    GetAvailability: { idempotent: true }
    SetSlotCapacity: { idempotent: true }
    RetireSlot: { idempotent: true }
    CountActiveBookings: { idempotent: true }
    # Writes: the mesh retries none (a client's retry of a move answers the same move, though).
    RescheduleBooking: { idempotent: false }
    GetBookingPolicy: { idempotent: true }
    SetBookingPolicy: { idempotent: false }
    JoinWaitlist: { idempotent: false }
    LeaveWaitlist: { idempotent: false }
    ListWaitlist: { idempotent: true }
  callers:
    edge: [CreateBooking, ConfirmBooking, CancelBooking, GetBooking, ListBookings, ListAllBookings, GetAvailability, RescheduleBooking, GetBookingPolicy, SetBookingPolicy, JoinWaitlist, LeaveWaitlist, ListWaitlist]
    slot: [SetSlotCapacity, RetireSlot]
    doctor: [CountActiveBookings]
notifier:
  methods:
    ListNotifications: { idempotent: true }
    ListDeadLetters: { idempotent: true }
    ReplayDeadLetter: { idempotent: false }
  callers:
    edge: [ListNotifications, ListDeadLetters, ReplayDeadLetter]
{{- end -}}
