/**
 * The Job controller (NonIndexed completion mode): keeps `min(parallelism, completions -
 * succeeded)` pods active, named `<job>-<5 random chars>` and labelled with the Job's generated
 * selector, until `completions` pods have succeeded (or, with completions unset, until one
 * succeeded and none is active). Then the Job gets the SuccessCriteriaMet and Complete
 * conditions and a completionTime; more than `backoffLimit` failed pods give FailureTarget and
 * Failed (reason BackoffLimitExceeded) and the active pods are deleted. A suspended Job keeps
 * no active pods. Status counts active, ready, succeeded and failed pods.
 *
 * May import: fakes/fake_kube/, ./runtime.ts.
 */
import { formatTime, type KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import {
  type Controller,
  isActivePod,
  isPodReady,
  keyOf,
  ownedBy,
  ownerKeys,
  ownerRefTo,
  podFromTemplate,
  splitKey,
  suffix,
  timeOf,
  writeStatus,
} from "./runtime.ts";

const NAME = "job";
const JOB = "jobs.batch";

/** The Job controller over `store`; names draw on `random`. */
export function jobController(store: KubeStore, random: () => number): Controller {
  const def = store.resolve(JOB)!;
  return {
    name: NAME,
    watches: [
      { ref: JOB, keys: (o) => [keyOf(o)] },
      { ref: "pods", keys: ownerKeys("Job") },
    ],
    all: () => [...store.entries(def)].map((e) => keyOf(e.obj)),
    sync: (key) => syncJob(store, key, random),
  };
}

const finished = (job: KObj) =>
  (job.status?.conditions ?? []).some((c: Json) =>
    (c.type === "Complete" || c.type === "Failed") && c.status === "True"
  );

function syncJob(store: KubeStore, key: string, random: () => number): void {
  const { namespace, name } = splitKey(key);
  const job = store.peek(JOB, namespace, name);
  if (!job || job.metadata.deletionTimestamp || !namespace) return;
  const pods = ownedBy(store, "pods", namespace, job);
  const active = pods.filter(isActivePod);
  const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
  const failed = pods.filter((p) => p.status?.phase === "Failed").length;
  const now = formatTime(store.now());
  const completions: number | undefined = job.spec?.completions ?? undefined;
  const parallelism = job.spec?.parallelism ?? 1;
  const status: Json = { ...structuredClone(job.status ?? {}) };
  status.startTime ??= now;
  const conditions: Json[] = status.conditions ?? [];
  const cond = (type: string, reason: string, message: string) => ({
    type,
    status: "True",
    lastProbeTime: now,
    lastTransitionTime: now,
    reason,
    message,
  });
  if (!finished(job)) {
    const complete = completions !== undefined
      ? succeeded >= completions
      : succeeded > 0 && active.length === 0;
    if (complete) {
      conditions.push(
        cond(
          "SuccessCriteriaMet",
          "CompletionsReached",
          "Reached expected number of succeeded pods",
        ),
        cond("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
      );
      status.completionTime = now;
    } else if (failed > (job.spec?.backoffLimit ?? 6)) {
      conditions.push(
        cond(
          "FailureTarget",
          "BackoffLimitExceeded",
          "Job has reached the specified backoff limit",
        ),
        cond("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
      );
    }
    if (conditions.length) status.conditions = conditions;
  }
  let want = 0;
  if (!finished({ ...job, status }) && !job.spec?.suspend) {
    want = completions !== undefined
      ? Math.min(parallelism, completions - succeeded)
      : succeeded > 0
      ? Math.min(parallelism, active.length)
      : parallelism;
  }
  let activeNow = active.length;
  if (active.length < want) {
    const owner = ownerRefTo(job, "batch/v1", "Job");
    for (let i = active.length; i < want; i++) {
      const r = store.create(
        "pods",
        podFromTemplate(job.spec?.template, namespace, owner, {
          name: `${name}-${suffix(random)}`,
        }),
        { namespace, fieldManager: "kube-controller-manager" },
      );
      if (r.ok) activeNow++;
    }
  } else if (active.length > want) {
    const newest = [...active].sort((a, b) =>
      timeOf(b.metadata.creationTimestamp) - timeOf(a.metadata.creationTimestamp)
    );
    for (const p of newest.slice(0, active.length - want)) {
      if (store.delete("pods", namespace, p.metadata.name!).ok) activeNow--;
    }
  }
  status.active = activeNow;
  status.ready = active.filter(isPodReady).length;
  status.succeeded = succeeded;
  status.failed = failed;
  status.terminating = pods.filter((p) => p.metadata.deletionTimestamp).length;
  status.uncountedTerminatedPods ??= {};
  for (const k of ["active", "succeeded", "failed"]) if (status[k] === 0) delete status[k];
  const cur = store.peek(JOB, namespace, name);
  if (cur) writeStatus(store, JOB, cur, status);
}
