/**
 * The seeded plan of one chaos run: what the workload asks for, which Proxmox faults are on
 * during the chaos phase, and a timeline of events (scaling, a host going offline and back,
 * watch drops with history compaction, an API server outage, leader kills, a Redis outage) plus
 * the crash points the replacement replicas are armed with. The same seed gives the same plan,
 * so a failing run can be replayed with `deno task chaos -- --runs 1 --seed S`.
 *
 * May import: core/, adapters/, daemon/, sim/, fakes/.
 */
import type { FaultConfig } from "../fakes/fake_pve/faults.ts";
import type { CrashPoint } from "./cluster.ts";

/** One timed event of the chaos phase; `at` in ms from the workload's start. */
export type ChaosEvent =
  | { at: number; kind: "scale"; deployment: "web" | "batch"; replicas: number }
  | { at: number; kind: "hostOffline"; host: number; forMs: number }
  | { at: number; kind: "dropWatches"; mode: "close" | "reset"; compact: boolean }
  | { at: number; kind: "apiOutage"; forMs: number }
  | { at: number; kind: "killLeader" }
  | { at: number; kind: "redisOutage" }
  | { at: number; kind: "drift" };

/** Everything a run does, drawn from its seed. */
export type ChaosPlan = {
  seed: number;
  web: { replicas: number; cpu: number };
  batch: { replicas: number; cpu: number };
  /** The PDB on `web`. */
  minAvailable: number;
  /** Proxmox faults during the chaos phase (cleared when it ends). */
  pve: FaultConfig;
  events: ChaosEvent[];
  /** Crash points of the first replica and of each replica spawned during the chaos phase. */
  crashAt: (CrashPoint | undefined)[];
  /** Length of the chaos phase (ms). */
  chaosMs: number;
};

/** A small seeded generator (mulberry32): the same seed draws the same numbers. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Crash points a replica may be armed with; "after-clone" is the clone-before-tag window. */
export const CHAOS_CRASH_POINTS: CrashPoint[] = [
  "after-claim-created",
  "after-vmid-reserve",
  "after-clone",
  "after-clone",
  "after-start",
  "after-launch",
  "after-registration",
  "mid-drain",
  "after-vm-deleted",
];

const LOCK = "can't lock file '/var/lock/qemu-server/lock-1000.conf' - got timeout";

/** Draws the plan of run `seed`; `redis` adds a Redis outage to the timeline. */
export function chaosPlan(seed: number, o: { redis: boolean; chaosMs?: number }): ChaosPlan {
  const r = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const chaosMs = o.chaosMs ?? 3_500;
  const minAvailable = int(1, 2);
  const web = { replicas: int(minAvailable + 1, 4), cpu: pick([250, 500, 750, 1000]) };
  const batch = { replicas: int(0, 4), cpu: pick([250, 500, 750]) };
  const rate = () => 0.05 + r() * 0.15;
  const errors: NonNullable<FaultConfig["errors"]> = [];
  if (chance(0.7)) {
    // A lost answer: the clone was carried out but the reply is a 5xx.
    errors.push({
      endpoint: "POST /nodes/{node}/qemu/{vmid}/clone",
      rate: rate(),
      status: pick([500, 502, 503]),
      after: chance(0.5),
    });
  }
  if (chance(0.7)) {
    errors.push({ endpoint: "PUT /nodes/{node}/qemu/{vmid}/config", rate: rate(), message: LOCK });
    errors.push({ endpoint: "POST /nodes/{node}/qemu/{vmid}/config", rate: rate(), message: LOCK });
  }
  if (chance(0.5)) {
    errors.push({
      endpoint: "POST /nodes/{node}/qemu/{vmid}/status/start",
      rate: rate(),
      status: 503,
    });
  }
  if (chance(0.5)) errors.push({ endpoint: "*", rate: 0.03 + r() * 0.05, status: 500 });
  if (chance(0.3)) errors.push({ endpoint: "*", rate: 0.02, kind: "reset" });
  if (chance(0.25)) {
    // One request never answered: the client's timeout ends it.
    errors.push({
      endpoint: pick(["POST /nodes/{node}/qemu/{vmid}/clone", "GET /cluster/resources"]),
      times: 1,
      kind: "hang",
      after: true,
    });
  }
  const taskFailures: NonNullable<FaultConfig["taskFailures"]> = [];
  if (chance(0.6)) {
    taskFailures.push({ type: "qmclone", rate: rate(), message: "clone failed: injected" });
  }
  if (chance(0.5)) {
    taskFailures.push({ type: "qmstart", rate: rate(), message: "start failed: injected" });
  }
  if (chance(0.2)) {
    taskFailures.push({ type: "qmdestroy", rate: rate(), message: "destroy failed: injected" });
  }
  const pve: FaultConfig = {
    errors,
    taskFailures,
    latency: [{ endpoint: "*", ms: int(0, 10), jitterMs: int(0, 40) }],
  };

  const events: ChaosEvent[] = [];
  const at = () => int(200, chaosMs - 200);
  for (let i = int(1, 3); i > 0; i--) {
    events.push({ at: at(), kind: "scale", deployment: "web", replicas: int(minAvailable + 1, 5) });
  }
  for (let i = int(0, 2); i > 0; i--) {
    events.push({ at: at(), kind: "scale", deployment: "batch", replicas: int(0, 5) });
  }
  if (chance(0.8)) {
    events.push({ at: at(), kind: "hostOffline", host: int(0, 2), forMs: int(500, 1_500) });
  }
  for (let i = int(1, 2); i > 0; i--) {
    events.push({
      at: at(),
      kind: "dropWatches",
      mode: pick(["close", "reset"]),
      compact: chance(0.7),
    });
  }
  if (chance(0.6)) events.push({ at: at(), kind: "apiOutage", forMs: int(200, 800) });
  for (let i = int(0, 2); i > 0; i--) events.push({ at: at(), kind: "killLeader" });
  // The pool's labels change: every claim drifts and is replaced (drain, evictions, the PDB).
  if (chance(0.6)) events.push({ at: int(200, 1_500), kind: "drift" });
  if (o.redis) events.push({ at: at(), kind: "redisOutage" });
  events.sort((a, b) => a.at - b.at);
  const crashAt = Array.from(
    { length: 6 },
    () => (chance(0.6) ? pick(CHAOS_CRASH_POINTS) : undefined),
  );
  return { seed, web, batch, minAvailable, pve, events, crashAt, chaosMs };
}
