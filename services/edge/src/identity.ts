/** Who a request acts for, as the booking service needs it. */
export interface Caller {
  patientId: string;
}

/**
 * The one place the caller's identity is read. Until authentication exists the patient names
 * itself in the booking body; the auth work replaces this with the verified token's subject
 * (and drops `patientId` from the body schema), leaving every route unchanged.
 */
export function callerOf(request: { body: { patientId: string } }): Caller {
  return { patientId: request.body.patientId };
}
