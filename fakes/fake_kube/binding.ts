/**
 * The `pods/binding` subresource (a POST of a v1 Binding naming the node): how kube-scheduler
 * assigns a pod to a node. One write sets `spec.nodeName` and the `PodScheduled=True` condition.
 */
import { err, ok, type Result } from "../result.ts";
import { invalidFor } from "./admission.ts";
import { formatTime, isDeleting, type KObj } from "./objects.ts";
import type { Json } from "./patch.ts";
import { badRequest, failure, notFound, type Status } from "./status.ts";
import type { KubeStore } from "./store.ts";

/** A v1 Binding body (only the fields the apiserver reads). */
export type Binding = { metadata?: { name?: string }; target?: { kind?: string; name?: string } };

function bindingConflict(name: string, why: string): Status {
  return failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on pods/binding "${name}": ${why}`,
    {
      name,
      kind: "pods/binding",
    },
  );
}

/** Binds a pod to `body.target.name`; 201 Status, or 404/400/422/409. */
export function bindPod(
  store: KubeStore,
  namespace: string,
  name: string,
  body: Binding,
  opts: { dryRun?: boolean },
): Result<Status, Status> {
  const def = store.resolve("pods")!;
  const pod = store.peek(def, namespace, name);
  if (!pod) return err(notFound(def, name));
  if (body?.metadata?.name !== undefined && body.metadata.name !== name) {
    return err(badRequest(
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
    ));
  }
  const node = body?.target?.name;
  if (!node) {
    return err(invalidFor({ ...def, kind: "Binding" }, name, [{
      reason: "FieldValueRequired",
      field: "target.name",
      message: "Required value",
    }]));
  }
  if (pod.spec?.nodeName) {
    return err(
      bindingConflict(name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`),
    );
  }
  if (isDeleting(pod)) {
    return err(bindingConflict(name, `pod ${name} is being deleted, cannot be assigned to a host`));
  }
  if (!opts.dryRun) {
    const conds: Json[] = (pod.status?.conditions ?? []).filter((c: Json) =>
      c?.type !== "PodScheduled"
    );
    conds.push({
      type: "PodScheduled",
      status: "True",
      lastProbeTime: null,
      lastTransitionTime: formatTime(store.now()),
    });
    const next: KObj = {
      ...pod,
      spec: { ...pod.spec, nodeName: node },
      status: { ...pod.status, conditions: conds },
    };
    store.writeThrough(def, pod, next);
  }
  return ok({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
}
