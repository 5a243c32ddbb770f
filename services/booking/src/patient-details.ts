import type { Validator } from "@clinic/platform/grpc";

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{2,63}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/** Who a booking or a waitlist entry is for, validated the same way for both. */
export function patientDetails(
  v: Validator,
  req: { patientId: string; patientName: string; patientContact: string; patientPhone: string },
): { patientId: string; patientName: string; patientContact: string; patientPhone: string } {
  const patientId = v.uuid("patient_id", req.patientId);
  const patientName = v.text("patient_name", req.patientName, { max: 200 });
  const patientContact = v.text("patient_contact", req.patientContact, { max: 320 });
  if (patientContact && !EMAIL.test(patientContact) && !E164.test(patientContact)) {
    v.add("patient_contact", "must be an e-mail address or an E.164 phone number");
  }
  const patientPhone = req.patientPhone.trim();
  if (patientPhone !== "" && !E164.test(patientPhone)) v.add("patient_phone", "must be an E.164 phone number");
  return { patientId, patientName, patientContact, patientPhone };
}
