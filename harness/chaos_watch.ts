/**
 * The outside observer of a chaos run. It samples the fake cluster's own state (never the
 * daemon's bookkeeping) on a timer and counts:
 *
 * - limit violations: moments when the VMs proxscale may own (the leak audit's count: every VM
 *   in the managed range or marked as proxscale's, tagged or not) exceed the pool's node limit,
 *   or their vCPUs its cpu limit (one episode per stretch over the limit);
 * - PDB violations: moments when fewer pods matching the PDB are available (Running, Ready,
 *   not terminating) than its minAvailable, and one of the pods lost since the count was last
 *   good was disrupted by proxscale: evicted or deleted through the API server (its request log
 *   holds only the daemons' requests; the fake controllers write to the store directly), or on a
 *   Node proxscale deleted. Losses from injected faults alone (a host offline) are not counted.
 *
 * May import: fakes/.
 */
import type { FakeKube, KObj } from "../fakes/fake_kube/server.ts";
import type { FakePve } from "../fakes/fake_pve/server.ts";
import { auditVms } from "../fakes/cluster/audit.ts";

/** What the observer found so far. */
export type WatchCounts = {
  limitViolations: number;
  pdbViolations: number;
  /** Pods proxscale evicted or deleted, and the most VMs seen at once (the checks bit). */
  evictions: number;
  maxVms: number;
  /** Human-readable lines, one per violation. */
  notes: string[];
};

type PodObj = KObj & {
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
};

/** Options: the pool's limits, the PDB's selector label `app=<app>` and its minAvailable. */
export type WatchOptions = {
  pve: FakePve;
  kube: FakeKube;
  vmidRange: { lower: number; upper: number };
  limits: { nodes?: number; cpu?: number };
  pdb: { app: string; minAvailable: () => number };
  everyMs: number;
};

const EVICT = /^\/api\/v1\/namespaces\/[^/]+\/pods\/([^/]+)\/eviction$/;
const POD = /^\/api\/v1\/namespaces\/[^/]+\/pods\/([^/]+)$/;
const NODE = /^\/api\/v1\/nodes\/([^/]+)$/;

/** Starts sampling; `stop` ends it and returns the counts. */
export function watchChaos(o: WatchOptions): { counts: WatchCounts; stop(): WatchCounts } {
  const counts: WatchCounts = {
    limitViolations: 0,
    pdbViolations: 0,
    evictions: 0,
    maxVms: 0,
    notes: [],
  };
  const disruptedPods = new Set<string>();
  const deletedNodes = new Set<string>();
  let seenRequest: object | undefined;
  let overLimit = false;
  let lastGood = new Map<string, string>();
  let inViolation = false;

  const readRequests = () => {
    const reqs = o.kube.requests;
    let start = seenRequest ? reqs.lastIndexOf(seenRequest as (typeof reqs)[number]) + 1 : 0;
    if (start <= 0 && seenRequest) start = 0;
    for (let i = start; i < reqs.length; i++) {
      const q = reqs[i]!;
      if (q.method === "POST") {
        const m = EVICT.exec(q.path);
        if (m) disruptedPods.add(decodeURIComponent(m[1]!));
      } else if (q.method === "DELETE") {
        const p = POD.exec(q.path);
        if (p) disruptedPods.add(decodeURIComponent(p[1]!));
        const n = NODE.exec(q.path);
        if (n) deletedNodes.add(decodeURIComponent(n[1]!));
      }
    }
    if (reqs.length > 0) seenRequest = reqs[reqs.length - 1];
    counts.evictions = disruptedPods.size;
  };

  /** The NodeClaims at this moment, a deleting one marked `(deleting)`: what a limit counts. */
  const claimsNow = () => {
    const l = o.kube.store.list("nodeclaims.proxscale.io");
    return (l.ok ? l.value.items : []).map((c) =>
      `${c.metadata.name}${c.metadata.deletionTimestamp ? "(deleting)" : ""}`
    ).join(" ");
  };

  const sampleLimits = () => {
    const vms = auditVms(o.pve, { vmidRange: o.vmidRange }).vms;
    let cpu = 0;
    for (const v of vms) {
      const values = o.pve.model.st.vms.get(v.vmid)?.conf.values;
      cpu += 1000 * Number(values?.get("cores") ?? 1) * Number(values?.get("sockets") ?? 1);
    }
    counts.maxVms = Math.max(counts.maxVms, vms.length);
    const over = (o.limits.nodes !== undefined && vms.length > o.limits.nodes) ||
      (o.limits.cpu !== undefined && cpu > o.limits.cpu);
    if (over && !overLimit) {
      counts.limitViolations++;
      counts.notes.push(
        `limit: ${vms.length} VMs (${cpu}m CPU) over ${JSON.stringify(o.limits)}: ` +
          vms.map((v) => `${v.vmid}:${v.claim ?? "?"}`).join(" ") + `; claims: ${claimsNow()}`,
      );
    }
    overLimit = over;
  };

  const samplePdb = () => {
    const list = o.kube.store.list("pods", { labelSelector: `app=${o.pdb.app}` });
    if (!list.ok) return;
    const available = new Map<string, string>();
    for (const p of list.value.items as PodObj[]) {
      const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      if (p.metadata.deletionTimestamp || p.status?.phase !== "Running" || !ready) continue;
      available.set(p.metadata.name!, p.spec?.nodeName ?? "");
    }
    const min = o.pdb.minAvailable();
    if (available.size >= min) {
      lastGood = available;
      inViolation = false;
      return;
    }
    if (inViolation) return;
    const lost = [...lastGood].filter(([name]) => !available.has(name));
    const ours = lost.filter(([name, node]) => disruptedPods.has(name) || deletedNodes.has(node));
    if (ours.length > 0) {
      inViolation = true;
      counts.pdbViolations++;
      counts.notes.push(
        `pdb: ${available.size} available < minAvailable ${min}; proxscale disrupted ` +
          ours.map(([n, node]) => `${n}@${node}`).join(" "),
      );
    }
  };

  const tick = () => {
    readRequests();
    sampleLimits();
    samplePdb();
  };
  const timer = setInterval(tick, o.everyMs);
  return {
    counts,
    stop: () => {
      clearInterval(timer);
      tick();
      return counts;
    },
  };
}
