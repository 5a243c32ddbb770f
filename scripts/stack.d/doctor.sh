# shellcheck shell=bash
# The doctor service (gRPC), started from its compiled output.

doctor_addr() { grpc_service_addr doctor; }
doctor_health() { grpc_service_health doctor; }
doctor_up() { grpc_service_up doctor 60 PGDATABASE=clinic_doctor; }
doctor_env() { grpc_service_env doctor; }
