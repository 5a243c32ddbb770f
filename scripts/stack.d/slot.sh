# shellcheck shell=bash
# The slot service (gRPC), started from its compiled output.

slot_addr() { grpc_service_addr slot; }
slot_health() { grpc_service_health slot; }
slot_up() { grpc_service_up slot 60 PGDATABASE=clinic_slot; }
slot_env() { grpc_service_env slot; }
