/**
 * Predictive scale-up (opt-in per pool with scaleUp.forecast): from the pool's demand history
 * (Snapshot.demandHistory, core/forecast_history.ts) the seasonal model (core/forecast_model.ts)
 * predicts the pool's peak demand up to now + horizon (the measured boot delay plus the batch
 * window, unless configured). When that is above the demand now, the difference becomes
 * placeholder pods of the pool's typical size, and provisioning, run again with them, opens the
 * claims they need: those that hold only placeholders are launched with reason `Forecast`, within
 * the pool's limits and at most scaleUp.forecast.maxNodes forecast claims in their window at once.
 * The decisions for real pods are the plain plan's, untouched. The forecast acts only while the
 * model's error over the last day is at most scaleUp.forecast.maxError; otherwise it is off and
 * says why (ForecastOff).
 *
 * A forecast claim carries the end of its window (label proxscale.io/forecast-until, epoch
 * seconds: launch + horizon + one bucket). Until the latest window of a pool has passed,
 * consolidation leaves the pool's nodes alone (they are shown to disruption as do-not-disrupt),
 * so the capacity bought ahead is not packed away before the demand it was bought for arrives.
 *
 * With no pool opting in, both functions return their input itself: decisions do not change.
 *
 * May import: core/ only.
 */
import type { Config, ForecastSettings, NodePool, Pod, Snapshot } from "./model.ts";
import type { PlannedClaim, ProvisionPlan } from "./provisioning.ts";
import { type Reason, reason } from "./reason.ts";
import { DO_NOT_DISRUPT_ANNOTATIONS, NODEPOOL_LABEL_KEY } from "./labels.ts";
import { BUCKET_MS, bucketOf, type Demand, demandByPool } from "./forecast_history.ts";
import { forecastSeries } from "./forecast_model.ts";
import { podRequestsOf } from "./pod_requests.ts";

/** Label on a forecast claim (and its node): the end of its forecast window, epoch seconds. */
export const FORECAST_UNTIL_LABEL = "proxscale.io/forecast-until";
/** Namespace of the placeholder pods (never written anywhere; they live inside one decision). */
export const FORECAST_NAMESPACE = "proxscale-forecast";
/** Boot delay assumed before any claim of the pool has become Ready, ms. */
export const DEFAULT_BOOT_DELAY = 60_000;
/** Multiples of the model's mean absolute error added to its prediction (the upper band). */
export const MARGIN = 0.5;
/** Most placeholder pods per pool and pass. */
const MAX_PLACEHOLDERS = 64;

/** Whether a pool's forecast acted this pass, and why (for logs, Events and the report). */
export type ForecastNote = {
  nodePool: string;
  on: boolean;
  /** Predicted peak demand up to the horizon, and the demand now. */
  predicted?: Demand;
  current?: Demand;
  /** The model's recent error (core/forecast_model.ts), and the horizon in ms. */
  error?: number;
  horizon?: number;
  reason: Reason;
};

/**
 * The plain plan plus the pools' forecast claims, a note per forecasting pool, and the
 * placeholder pods that stand for the predicted increase (disruption keeps their room).
 */
export type ForecastPlan = { plan: ProvisionPlan; notes: ForecastNote[]; placeholders: Pod[] };

/** Whether any pool opts in. */
export function forecastConfigured(config: Config): boolean {
  return config.nodePools.some((p) => p.scaleUp.forecast !== undefined);
}

/**
 * Adds forecast claims to `plan` (provisioning's plan for `snapshot`): `provisionFn` is run
 * again on the snapshot with placeholder pods for the predicted increase, and the claims that
 * hold only placeholders are kept.
 */
export function withForecast(
  snapshot: Snapshot,
  config: Config,
  plan: ProvisionPlan,
  provisionFn: (s: Snapshot, c: Config) => ProvisionPlan,
): ForecastPlan {
  if (!forecastConfigured(config)) return { plan, notes: [], placeholders: [] };
  const notes: ForecastNote[] = [];
  const placeholders: Pod[] = [];
  const perPool = new Map<string, { note: ForecastNote; room: number; until: number }>();
  let demand: Record<string, Demand> | undefined;
  for (const pool of config.nodePools) {
    const settings = pool.scaleUp.forecast;
    if (!settings) continue;
    demand ??= demandByPool(snapshot, config);
    const current = demand[pool.name] ?? { cpu: 0, memory: 0, gpus: 0 };
    const verdict = judge(snapshot, config, pool, settings, current);
    notes.push(verdict.note);
    if (!verdict.note.on || !verdict.increase) continue;
    const room = settings.maxNodes - inWindow(snapshot, pool.name);
    if (room <= 0) continue;
    const typical = typicalPod(snapshot, pool.name);
    if (!typical) continue;
    const inc = verdict.increase;
    const n = Math.min(
      MAX_PLACEHOLDERS,
      Math.max(
        typical.cpu > 0 ? Math.ceil(inc.cpu / typical.cpu) : 0,
        typical.memory > 0 ? Math.ceil(inc.memory / typical.memory) : 0,
      ),
    );
    if (n <= 0) continue;
    for (let i = 0; i < n; i++) placeholders.push(placeholder(snapshot.now, pool, i, typical));
    perPool.set(pool.name, {
      note: verdict.note,
      room,
      until: Math.ceil((snapshot.now + verdict.note.horizon! + BUCKET_MS) / 1000),
    });
  }
  if (placeholders.length === 0) return { plan, notes, placeholders };
  const ahead = provisionFn({ ...snapshot, pods: [...snapshot.pods, ...placeholders] }, config);
  const taken = new Set(plan.claims.map((c) => c.name));
  const claims: PlannedClaim[] = [...plan.claims];
  for (const c of ahead.claims) {
    const p = perPool.get(c.nodePool);
    if (!p || p.room <= 0 || taken.has(c.name)) continue;
    if (!c.pods.every((k) => k.startsWith(`${FORECAST_NAMESPACE}/`))) continue;
    p.room--;
    claims.push({
      ...c,
      pods: [],
      requested: { cpu: 0, memory: 0 },
      labels: { ...c.labels, [FORECAST_UNTIL_LABEL]: String(p.until) },
      reason: launchReason(p.note, c.pods.length),
    });
  }
  return { plan: { ...plan, claims }, notes, placeholders };
}

/**
 * The snapshot disruption sees: the placeholder pods pending, so that the room provisioning
 * gives them is reserved before any consolidation is simulated (pods moved off a candidate
 * cannot take it, and the nodes it is on stay this pass), and the node of every forecast claim
 * still inside its window marked do-not-disrupt. The snapshot itself when there is neither.
 */
export function holdForecastCapacity(
  snapshot: Snapshot,
  config: Config,
  placeholders: readonly Pod[],
): Snapshot {
  if (!forecastConfigured(config)) return snapshot;
  const held = new Set<string>();
  const nowSeconds = snapshot.now / 1000;
  for (const c of snapshot.nodeClaims) {
    const until = Number(c.labels[FORECAST_UNTIL_LABEL]);
    if (!c.deleting && until > nowSeconds && c.nodeName) held.add(c.nodeName);
  }
  if (held.size === 0 && placeholders.length === 0) return snapshot;
  return {
    ...snapshot,
    pods: placeholders.length === 0 ? snapshot.pods : [...snapshot.pods, ...placeholders],
    nodes: held.size === 0
      ? snapshot.nodes
      : snapshot.nodes.map((n) =>
        held.has(n.name)
          ? { ...n, annotations: { ...n.annotations, [DO_NOT_DISRUPT_ANNOTATIONS[0]]: "true" } }
          : n
      ),
  };
}

/** The horizon of a pool: configured, or the median boot delay of its claims plus batchMax. */
export function forecastHorizon(snapshot: Snapshot, config: Config, pool: NodePool): number {
  const set = pool.scaleUp.forecast?.horizon;
  if (set !== null && set !== undefined) return set;
  const boots: number[] = [];
  for (const c of snapshot.nodeClaims) {
    if (c.nodePool !== pool.name) continue;
    const ready = c.conditions.find((x) => x.type === "Ready" && x.status === "True");
    if (ready) boots.push(ready.lastTransitionTime - c.createdAt);
  }
  boots.sort((a, b) => a - b);
  const boot = boots.length > 0 ? boots[Math.floor(boots.length / 2)]! : DEFAULT_BOOT_DELAY;
  return boot + config.settings.batchMax;
}

type Verdict = { note: ForecastNote; increase?: Demand };

function judge(
  snapshot: Snapshot,
  config: Config,
  pool: NodePool,
  settings: ForecastSettings,
  current: Demand,
): Verdict {
  const off = (why: string): Verdict => ({
    note: { nodePool: pool.name, on: false, current, reason: reason("ForecastOff", why) },
  });
  const h = snapshot.demandHistory?.[pool.name];
  if (!h || h.cpu.length === 0) return off(`pool ${pool.name} has no demand history yet`);
  const horizon = forecastHorizon(snapshot, config, pool);
  const last = h.first + h.cpu.length - 1;
  const nowBucket = bucketOf(snapshot.now);
  if (last < nowBucket - 2) {
    return off(`pool ${pool.name}'s demand history ends ${nowBucket - last} buckets ago`);
  }
  const steps = Math.max(1, bucketOf(snapshot.now + horizon) - last);
  const cpu = forecastSeries(h.cpu, steps);
  const memory = forecastSeries(h.memory, steps);
  if (!cpu || !memory) {
    return off(
      `pool ${pool.name} has ${h.cpu.length} buckets of demand history; the model needs two days`,
    );
  }
  const error = Math.max(cpu.error, memory.error);
  const predicted = { cpu: cpu.peak, memory: memory.peak, gpus: current.gpus };
  if (!(error <= settings.maxError)) {
    return {
      note: {
        nodePool: pool.name,
        on: false,
        predicted,
        current,
        error,
        horizon,
        reason: reason(
          "ForecastOff",
          `pool ${pool.name}: the seasonal model's error over the last day is ${
            pct(error)
          } of the demand's own variation, above scaleUp.forecast.maxError ${
            pct(settings.maxError)
          }; scaling up on demand only`,
        ),
      },
    };
  }
  // The upper band: the prediction plus the model's typical miss, so that the pods arriving
  // while a node boots (the churn a net prediction averages away) find room.
  const increase = {
    cpu: Math.max(0, cpu.peak + MARGIN * cpu.mae - current.cpu),
    memory: Math.max(0, memory.peak + MARGIN * memory.mae - current.memory),
    gpus: 0,
  };
  const note: ForecastNote = {
    nodePool: pool.name,
    on: true,
    predicted,
    current,
    error,
    horizon,
    reason: reason(
      "Forecast",
      `pool ${pool.name}: predicted peak demand within ${Math.round(horizon / 1000)} s is ${
        cores(cpu.peak)
      } CPU / ${gib(memory.peak)} memory (${cores(current.cpu)} / ${
        gib(current.memory)
      } now); ${cpu.season} model error ${pct(error)} (threshold ${pct(settings.maxError)})`,
    ),
  };
  return increase.cpu > 0 || increase.memory > 0 ? { note, increase } : { note };
}

function launchReason(note: ForecastNote, placeholders: number): Reason {
  return reason(
    "Forecast",
    `${note.reason.message}; pre-launched for ${placeholders} pod(s) of the pool's typical size, ` +
      `horizon ${Math.round(note.horizon! / 1000)} s`,
  );
}

/** Forecast claims of the pool whose window is still open. */
function inWindow(snapshot: Snapshot, pool: string): number {
  let n = 0;
  for (const c of snapshot.nodeClaims) {
    if (
      c.nodePool === pool && !c.deleting &&
      Number(c.labels[FORECAST_UNTIL_LABEL]) > snapshot.now / 1000
    ) n++;
  }
  return n;
}

/** Median CPU and memory of the pods on the pool's nodes; undefined with none. */
function typicalPod(snapshot: Snapshot, pool: string): { cpu: number; memory: number } | undefined {
  const nodes = new Set<string>();
  for (const n of snapshot.nodes) if (n.labels[NODEPOOL_LABEL_KEY] === pool) nodes.add(n.name);
  const cpu: number[] = [];
  const memory: number[] = [];
  for (const p of snapshot.pods) {
    if (!p.nodeName || !nodes.has(p.nodeName) || p.ownerKind === "DaemonSet") continue;
    const r = podRequestsOf(p);
    cpu.push(r.cpu);
    memory.push(r.memory);
  }
  if (cpu.length === 0) return undefined;
  cpu.sort((a, b) => a - b);
  memory.sort((a, b) => a - b);
  const mid = Math.floor(cpu.length / 2);
  return { cpu: cpu[mid]!, memory: memory[mid]! };
}

function placeholder(
  now: number,
  pool: NodePool,
  i: number,
  size: { cpu: number; memory: number },
): Pod {
  return {
    uid: `forecast/${pool.name}/${now}/${i}`,
    name: `${pool.name}-${i}`,
    namespace: FORECAST_NAMESPACE,
    phase: "Pending",
    unschedulable: true,
    createdAt: now,
    pendingSince: now,
    containers: [{ cpu: size.cpu, memory: size.memory }],
    nodeSelector: { [NODEPOOL_LABEL_KEY]: pool.name },
    tolerations: pool.taints.map((t) => ({ key: t.key, operator: "Exists" as const })),
  };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const cores = (m: number) => (m / 1000).toFixed(1);
const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
