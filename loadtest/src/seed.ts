import { randomUUID } from "node:crypto";
import type { Pool } from "pg";
import type { EdgeTarget } from "./modes/edge";
import type { SlotRef } from "./modes/target";
import { roundRobinShardOf } from "./databases";
import type { ModeName, Options, ScenarioName } from "./options";
import type { TokenMinter } from "./tokens";

export interface DoctorRef {
  id: string;
  name: string;
  specialization: string;
  /** Shard by the default round-robin map; `locatePgbenchShard` checks it for pgbench's doctors. */
  shard: number;
  /** `Bearer <token>` of an account acting for this doctor: it opens the doctor's schedule. */
  authorization: string;
}

/** Each mode books its own slots, so no mode starts on slots another has filled. */
export type SlotSets = Record<ScenarioName, SlotRef[]>;

export interface Dataset {
  runId: string;
  doctors: DoctorRef[];
  /** Every seeded slot, for the seed baseline's copy. */
  slots: SlotRef[];
  byMode: Record<ModeName, SlotSets>;
  /** The shard database pgbench and the seed baseline run in. */
  pgbenchShard: number;
}

/** Seats of the slots of the spread, browse and lifecycle scenarios: plenty, so none fills up. */
export const ROOMY_CAPACITY = 1000;
const SPECIALIZATIONS = ["cardiology", "dermatology", "neurology", "pediatrics"];
const SLOTS_PER_DAY = 288; // 5-minute slots, 00:00-24:00 UTC
const BATCH_MAX = 2000;

export interface SeedPlan {
  doctors: number;
  /** Slots per mode and scenario. */
  perMode: Record<ScenarioName, number>;
}

export function seedPlan(options: Options): SeedPlan {
  if (options.quick) return { doctors: 8, perMode: { spread: 24, hot: options.hotRounds, browse: 16, lifecycle: 16 } };
  // 400 slots of 1,000 seats take any throughput this machine can reach in a spread run, and
  // random picks over 400 rows keep row-lock collisions rare (the scenario is "no contention").
  return { doctors: 32, perMode: { spread: 400, hot: options.hotRounds, browse: 200, lifecycle: 200 } };
}

async function parallel<T, R>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}

interface ApiSlot {
  id: string;
  doctorId: string;
  startTime: string;
  endTime: string;
  capacity: number;
}

/** Weekly-schedule batches of 5-minute slots for one doctor, starting on `firstDay` (UTC). */
async function createSlots(edge: EdgeTarget, doctor: DoctorRef, count: number, capacity: number, firstDay: Date): Promise<SlotRef[]> {
  const out: SlotRef[] = [];
  let day = new Date(firstDay);
  while (out.length < count) {
    const days = Math.min(6, Math.ceil(Math.min(BATCH_MAX, count - out.length) / SLOTS_PER_DAY));
    const last = new Date(day.getTime() + (days - 1) * 86_400_000);
    const { slots } = await edge.request<{ slots: ApiSlot[] }>("POST", `/doctors/${doctor.id}/slots/batch`, {
      timeZone: "UTC",
      startDate: day.toISOString().slice(0, 10),
      endDate: last.toISOString().slice(0, 10),
      weekdays: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
      dayStart: "00:00",
      dayEnd: "24:00",
      slotMinutes: 5,
      capacity,
    }, doctor.authorization);
    for (const s of slots.slice(0, count - out.length)) {
      out.push({ id: s.id, doctorId: s.doctorId, startTime: s.startTime, endTime: s.endTime, capacity: s.capacity });
    }
    day = new Date(last.getTime() + 86_400_000);
  }
  return out;
}

/** Takes `n` slots round-robin over the doctors' lists, so a set spans every doctor (and shard). */
function deal(lists: SlotRef[][], n: number): SlotRef[] {
  const out: SlotRef[] = [];
  let i = 0;
  while (out.length < n) {
    if (lists.every((l) => l.length === 0)) throw new Error(`seed: ran out of slots dealing ${n}`);
    const list = lists[i++ % lists.length]!;
    const slot = list.shift();
    if (slot) out.push(slot);
  }
  return out;
}

/** Who seeds: the admin creates the doctors; each doctor, with a minted token, opens its own schedule. */
export interface SeedAuth {
  /** `Bearer <token>` of the signed-in admin. */
  admin: string;
  minter: TokenMinter;
}

/**
 * Seeds through the API, as clients would: the admin creates doctors (spread over every shard),
 * then each doctor its roomy slots and hot slots in two schedule batches, dealt out to each mode
 * and scenario. pgbench's slots come from doctors of one shard only, since pgbench talks to one
 * database. Doctors rather than the admin open the schedules so the admin's account stays well
 * within the edge's per-account rate limit.
 */
export async function seed(edge: EdgeTarget, options: Options, shardCount: number, auth: SeedAuth, log: (line: string) => void): Promise<Dataset> {
  const runId = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15) + "-" + randomUUID().slice(0, 6);
  const plan = seedPlan(options);
  const started = performance.now();

  const doctors = await parallel(Array.from({ length: plan.doctors }, (_, i) => i), 8, async (i): Promise<DoctorRef> => {
    const created = await edge.request<{ id: string; name: string; specialization: string }>("POST", "/doctors", {
      name: `Loadtest ${runId} #${i + 1}`,
      specialization: SPECIALIZATIONS[i % SPECIALIZATIONS.length]!,
    }, auth.admin);
    return { id: created.id, name: created.name, specialization: created.specialization, shard: roundRobinShardOf(created.id, shardCount), authorization: await auth.minter.doctor(created.id) };
  });
  const perShard = Array.from({ length: shardCount }, (_, s) => doctors.filter((d) => d.shard === s).length);
  // The shard with the most doctors gives pgbench the most slots to spread over.
  const pgbenchShard = perShard.indexOf(Math.max(...perShard));
  const shardDoctors = doctors.filter((d) => d.shard === pgbenchShard);

  const apiModes: ModeName[] = ["edge", "grpc", "baseline"];
  const roomyPerMode = plan.perMode.spread + plan.perMode.browse + plan.perMode.lifecycle;
  const roomyForApi = Math.ceil((roomyPerMode * apiModes.length) / doctors.length);
  const roomyForPgbench = Math.ceil(roomyPerMode / shardDoctors.length);
  const hotForApi = Math.ceil((plan.perMode.hot * apiModes.length) / doctors.length);
  const hotForPgbench = Math.ceil(plan.perMode.hot / shardDoctors.length);

  // Far in the future, so no slot starts during a run (a started slot refuses bookings).
  const firstDay = new Date(Date.UTC(2031, 0, 1));
  const perDoctor = await parallel(doctors, 8, async (doctor) => {
    const inShard = doctor.shard === pgbenchShard;
    const roomy = await createSlots(edge, doctor, roomyForApi + (inShard ? roomyForPgbench : 0), ROOMY_CAPACITY, firstDay);
    const hotFirstDay = new Date(Date.UTC(2032, 0, 1));
    const hot = await createSlots(edge, doctor, hotForApi + (inShard ? hotForPgbench : 0), options.hotCapacity, hotFirstDay);
    return { doctor, roomy, hot };
  });

  const byMode = {} as Record<ModeName, SlotSets>;
  // pgbench first, from its shard's doctors; the API modes share what is left, over all doctors.
  const shardLists = perDoctor.filter((p) => p.doctor.shard === pgbenchShard);
  byMode.pgbench = {
    spread: deal(shardLists.map((p) => p.roomy), plan.perMode.spread),
    browse: deal(shardLists.map((p) => p.roomy), plan.perMode.browse),
    lifecycle: deal(shardLists.map((p) => p.roomy), plan.perMode.lifecycle),
    hot: deal(shardLists.map((p) => p.hot), plan.perMode.hot),
  };
  for (const mode of apiModes) {
    byMode[mode] = {
      spread: deal(perDoctor.map((p) => p.roomy), plan.perMode.spread),
      browse: deal(perDoctor.map((p) => p.roomy), plan.perMode.browse),
      lifecycle: deal(perDoctor.map((p) => p.roomy), plan.perMode.lifecycle),
      hot: deal(perDoctor.map((p) => p.hot), plan.perMode.hot),
    };
  }
  const slots = Object.values(byMode).flatMap((sets) => Object.values(sets).flat());
  log(
    `seeded ${doctors.length} doctors (per shard: ${perShard.join("/")}) and ${slots.length} slots through the API ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s; run id ${runId}` +
      (edge.seedRetries > 0 ? ` (${edge.seedRetries} requests waited out a 429 from the edge's rate limit)` : ""),
  );
  return { runId, doctors, slots, byMode, pgbenchShard };
}

/**
 * pgbench updates `slot_inventory` rows directly, and those rows only exist once the booking
 * service has seen a slot. Setting each pgbench slot's capacity through the API (to the value it
 * has, as the slot's doctor) makes the service create them, in whichever shard its map really
 * routes the doctor to; that shard is returned (it differs from the round-robin guess only with
 * a custom shard map).
 */
export async function preparePgbenchSlots(edge: EdgeTarget, shards: readonly Pool[], sets: SlotSets, doctors: readonly DoctorRef[]): Promise<number> {
  const all = Object.values(sets).flat();
  const tokenOf = new Map(doctors.map((d) => [d.id, d.authorization]));
  await parallel(all, 16, (slot) => edge.request("PATCH", `/slots/${slot.id}`, { capacity: slot.capacity }, tokenOf.get(slot.doctorId)));
  const found = await Promise.all(
    shards.map(async (pool) => {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM slot_inventory WHERE slot_id = ANY($1::uuid[])", [all.map((s) => s.id)]);
      return rows[0]?.n ?? 0;
    }),
  );
  const shard = found.findIndex((n) => n === all.length);
  if (shard < 0) throw new Error(`pgbench slots are spread over shards (${found.join("/")}): expected all in one`);
  return shard;
}
