import type { Admin, Kafka } from "@clinic/platform/kafka";

/** Runs `work` with a connected admin client of `kafka`, disconnected afterwards whatever happens. */
export async function withKafkaAdmin(kafka: Kafka, work: (admin: Admin) => Promise<unknown>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.disconnect();
  }
}
