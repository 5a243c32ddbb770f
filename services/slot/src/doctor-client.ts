import { isServiceError } from "@clinic/platform/errors";
import { fromRemoteError, promiseClient } from "@clinic/platform/grpc";
import { doctorV1 } from "@clinic/proto";
import { status } from "@grpc/grpc-js";

/**
 * How the slot service learns whether a doctor exists (the doctor service owns doctors; doctors
 * are public to read, so the lookup goes without the caller's token).
 */
export interface DoctorDirectory {
  doctorExists(doctorId: string): Promise<boolean>;
}

export function doctorDirectory(client: doctorV1.DoctorServiceClient): DoctorDirectory {
  const doctors = promiseClient(client, doctorV1.DoctorServiceService);
  return {
    async doctorExists(doctorId) {
      try {
        await doctors.getDoctor({ id: doctorId });
        return true;
      } catch (err) {
        if (isServiceError(err) && err.code === status.NOT_FOUND) return false;
        // A dead doctor service is "unavailable" (our caller may retry); INTERNAL stays internal.
        throw fromRemoteError(err, { peer: "doctor", peerDown: "named", unexplained: "internal" });
      }
    },
  };
}
