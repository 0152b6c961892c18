/**
 * PodDisruptionBudgets in the fake API server: the disruption controller that keeps
 * `status` current after every pod or PDB change, and the
 * `pods/eviction` subresource with the apiserver's algorithm.
 *
 * Deviation from the real controller, which sums the replicas of the pods' controllers:
 * `expectedPods` is the number of matching pods, also for percentages and `maxUnavailable`; the
 * fake reads no controller scale.
 */
import { err, ok, type Result } from "../result.ts";
import { formatTime, isDeleting, type KObj } from "./objects.ts";
import type { Json } from "./patch.ts";
import { type LabelSelector, matchLabelSelector } from "./selectors.ts";
import { badRequest, failure, notFound, type Status } from "./status.ts";
import type { DeleteOptions, KubeStore } from "./store.ts";

const DISRUPTED_TTL_MS = 2 * 60 * 1000;

function isReady(pod: KObj): boolean {
  return (pod.status?.conditions ?? []).some((c: Json) =>
    c?.type === "Ready" && c?.status === "True"
  );
}

function selects(pdb: KObj, pod: KObj): boolean {
  const sel = pdb.spec?.selector as LabelSelector | undefined | null;
  if (sel === undefined || sel === null) return false;
  return matchLabelSelector(sel, pod.metadata.labels);
}

function scaled(v: Json, total: number): number {
  if (typeof v === "string" && v.endsWith("%")) {
    return Math.ceil((Number(v.slice(0, -1)) * total) / 100);
  }
  return Number(v ?? 0);
}

/** The status the disruption controller would write for this PDB now. */
export function computePdbStatus(
  store: KubeStore,
  pdb: KObj,
  now: number,
  members?: Iterable<string>,
): Json {
  const podDef = store.resolve("pods")!;
  const ns = pdb.metadata.namespace;
  const pods: KObj[] = [];
  if (members) {
    for (const name of members) {
      const p = store.peek(podDef, ns, name);
      if (p) pods.push(p);
    }
  } else {
    for (const e of store.entries(podDef, ns)) if (selects(pdb, e.obj)) pods.push(e.obj);
  }
  const byName = new Map(pods.map((p) => [p.metadata.name!, p]));
  const disrupted: Record<string, string> = {};
  for (const [name, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
    const pod = byName.get(name);
    if (pod && !isDeleting(pod) && now - Date.parse(String(at)) < DISRUPTED_TTL_MS) {
      disrupted[name] = String(at);
    }
  }
  const expectedPods = pods.length;
  const currentHealthy =
    pods.filter((p) => !isDeleting(p) && !disrupted[p.metadata.name!] && isReady(p)).length;
  const spec = pdb.spec ?? {};
  const desiredHealthy = spec.minAvailable !== undefined
    ? scaled(spec.minAvailable, expectedPods)
    : Math.max(0, expectedPods - scaled(spec.maxUnavailable ?? 0, expectedPods));
  const allowed = expectedPods <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
  const prevCond = (pdb.status?.conditions ?? []).find((c: Json) =>
    c?.type === "DisruptionAllowed"
  );
  const condStatus = allowed > 0 ? "True" : "False";
  const generation = pdb.metadata.generation ?? 1;
  return {
    observedGeneration: generation,
    disruptionsAllowed: allowed,
    currentHealthy,
    desiredHealthy,
    expectedPods,
    ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
    conditions: [{
      type: "DisruptionAllowed",
      status: condStatus,
      reason: allowed > 0 ? "SufficientPods" : "InsufficientPods",
      message: "",
      observedGeneration: generation,
      lastTransitionTime: prevCond?.status === condStatus
        ? prevCond.lastTransitionTime
        : formatTime(now),
    }],
  };
}

/**
 * Installs the disruption controller: pod and PDB writes mark PDBs dirty; a microtask
 * recomputes them in one batch (so seeding 30,000 pods is not quadratic). `sync()` forces it.
 */
export function installPdbController(
  store: KubeStore,
): { sync: () => void; paused: { value: boolean } } {
  const dirty = new Set<string>();
  let scheduled = false;
  const paused = { value: false };
  const pdbDef = store.resolve("poddisruptionbudgets.policy")!;
  const podDef = store.resolve("pods")!;
  // Matching pod names per PDB, kept up to date on every pod write, so that a status
  // recomputation reads only its members, not every pod of the namespace.
  const members = new Map<string, Set<string>>();
  const rebuild = (pdb: KObj) => {
    const set = new Set<string>();
    for (const e of store.entries(podDef, pdb.metadata.namespace)) {
      if (selects(pdb, e.obj)) set.add(e.obj.metadata.name!);
    }
    members.set(`${pdb.metadata.namespace}/${pdb.metadata.name}`, set);
  };
  const onPod = (type: string, pod: KObj, prev?: KObj) => {
    const ns = pod.metadata.namespace ?? "";
    const name = pod.metadata.name!;
    for (const e of store.entries(pdbDef, ns)) {
      const key = `${ns}/${e.obj.metadata.name}`;
      let set = members.get(key);
      if (!set) {
        rebuild(e.obj);
        set = members.get(key)!;
      }
      const now = type !== "DELETED" && selects(e.obj, pod);
      const before = set.has(name) || (prev !== undefined && selects(e.obj, prev));
      if (now) set.add(name);
      else set.delete(name);
      if (now || before) dirty.add(key);
    }
  };
  const sync = () => {
    scheduled = false;
    if (paused.value) return;
    const keys = [...dirty];
    dirty.clear();
    for (const key of keys) {
      const [ns, name] = key.split("/") as [string, string];
      const pdb = store.peek(pdbDef, ns, name);
      if (!pdb) continue;
      const status = computePdbStatus(store, pdb, store.now(), members.get(key));
      store.updateFrom(pdbDef, pdb, { ...pdb, status }, { subresource: "status" });
    }
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(sync);
    }
  };
  store.onWrite((def, type, obj, prev) => {
    if (def === podDef) {
      onPod(type, obj, prev);
      schedule();
    } else if (def === pdbDef) {
      const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
      if (type === "DELETED") {
        members.delete(key);
        return;
      }
      const statusOnly = prev && prev.metadata.generation === obj.metadata.generation &&
        JSON.stringify(prev.spec) === JSON.stringify(obj.spec);
      if (!statusOnly) {
        rebuild(obj);
        dirty.add(key);
        schedule();
      }
    }
  });
  return { sync, paused };
}

/** Body of `POST …/pods/<name>/eviction` (policy/v1 or v1beta1). */
export type Eviction = {
  metadata?: { name?: string; namespace?: string };
  deleteOptions?: {
    gracePeriodSeconds?: number;
    preconditions?: { uid?: string; resourceVersion?: string };
    dryRun?: string[];
  };
};

function tooManyRequests(cause: string, retryAfter?: number): Status {
  const details: NonNullable<Status["details"]> = {
    causes: [{ reason: "DisruptionBudget", message: cause }],
  };
  if (retryAfter) details.retryAfterSeconds = retryAfter;
  return failure(
    429,
    "TooManyRequests",
    "Cannot evict pod as it would violate the pod's disruption budget.",
    details,
  );
}

/**
 * The apiserver's eviction algorithm: 404 for a missing pod, 500 under two PDBs, 429 when a PDB is
 * not yet observed or allows no disruption, otherwise the pod is deleted; success is a 201 Status.
 */
export function evict(
  store: KubeStore,
  namespace: string,
  name: string,
  body: Eviction,
  opts: { dryRun?: boolean; sync: () => void },
): Result<Status, Status> {
  if (body?.metadata?.name !== undefined && body.metadata.name !== name) {
    return err(badRequest("name in URL does not match name in Eviction object"));
  }
  const podDef = store.resolve("pods")!;
  const pdbDef = store.resolve("poddisruptionbudgets.policy")!;
  opts.sync();
  const pod = store.peek(podDef, namespace, name);
  if (!pod) return err(notFound(podDef, name));
  const dryRun = opts.dryRun || (body?.deleteOptions?.dryRun ?? []).includes("All");
  const del: DeleteOptions = { dryRun };
  const pre = body?.deleteOptions?.preconditions;
  if (pre) del.preconditions = pre;
  if (body?.deleteOptions?.gracePeriodSeconds !== undefined) {
    del.gracePeriodSeconds = body.deleteOptions.gracePeriodSeconds;
  }
  const phase = pod.status?.phase;
  const skipBudget = phase === "Pending" || phase === "Succeeded" || phase === "Failed" ||
    isDeleting(pod);
  if (!skipBudget) {
    const pdbs: KObj[] = [];
    for (const e of store.entries(pdbDef, namespace)) if (selects(e.obj, pod)) pdbs.push(e.obj);
    if (pdbs.length > 1) {
      const s = failure(
        500,
        undefined,
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
      );
      return err(s);
    }
    const pdb = pdbs[0];
    if (pdb) {
      const st = pdb.status ?? {};
      const unhealthyOk = !isReady(pod) &&
        (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow" ||
          ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0));
      if (unhealthyOk) {
        del.preconditions = {
          ...(del.preconditions ?? {}),
          resourceVersion: pod.metadata.resourceVersion!,
        };
      } else {
        if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1)) {
          return err(
            tooManyRequests(
              `The disruption budget ${pdb.metadata.name} is still being processed by the server.`,
              10,
            ),
          );
        }
        const allowed = st.disruptionsAllowed ?? 0;
        if (allowed < 0) {
          return err(failure(403, "Forbidden", "pdb disruptions allowed is negative"));
        }
        if (allowed === 0) {
          return err(tooManyRequests(
            `The disruption budget ${pdb.metadata.name} needs ${
              st.desiredHealthy ?? 0
            } healthy pods and has ${st.currentHealthy ?? 0} currently`,
          ));
        }
        if (!dryRun) {
          const status = {
            ...st,
            disruptionsAllowed: allowed - 1,
            disruptedPods: { ...(st.disruptedPods ?? {}), [name]: formatTime(store.now()) },
          };
          store.updateFrom(pdbDef, pdb, { ...pdb, status }, { subresource: "status" });
        }
      }
    }
  }
  const uid = pod.metadata.uid!;
  if (del.preconditions?.uid && del.preconditions.uid !== uid) {
    return err(failure(
      409,
      "Conflict",
      `Operation cannot be fulfilled on Pod "${name}": the UID in the precondition (${del.preconditions.uid}) does not match the UID in record (${uid}). The object might have been deleted and then recreated`,
      { name, kind: "pods" },
    ));
  }
  if (!dryRun) {
    const conds: Json[] = (pod.status?.conditions ?? []).filter((c: Json) =>
      c?.type !== "DisruptionTarget"
    );
    conds.push({
      type: "DisruptionTarget",
      status: "True",
      reason: "EvictionByEvictionAPI",
      message: "Eviction API: evicting",
      lastProbeTime: null,
      lastTransitionTime: formatTime(store.now()),
    });
    const marked = store.updateFrom(podDef, pod, {
      ...pod,
      status: { ...pod.status, conditions: conds },
    }, { subresource: "status" });
    if (marked.ok && del.preconditions?.resourceVersion) {
      del.preconditions.resourceVersion = marked.value.object.metadata.resourceVersion!;
    }
  }
  const r = store.delete(podDef, namespace, name, del);
  if (!r.ok) return r;
  return ok({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
}
