/**
 * Kubernetes JSON -> core/model.ts types, parsed with zod at the boundary. Objects that do not
 * have the shape the core relies on (missing metadata, wrong types, unparsable quantities or
 * times) come back as `{ ok: false, error: reason }` so an informer can skip them with a logged
 * reason instead of crashing or feeding garbage to decisions. Unknown fields are ignored.
 * Accepts both raw JSON (strings for times) and client-node's typed objects (Date instances).
 */
import { z } from "zod";
import {
  type Condition,
  CONDITION_TYPES,
  type ConditionType,
  type ContainerRequests,
  type Node,
  type NodeClaim,
  type NodeSelectorTerm,
  type Pod,
  type PodAffinityTerm,
  type PodDisruptionBudget,
  type Requirement,
  type ShapeGpus,
  type Taint,
  type Toleration,
} from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { parseQuantity } from "../../core/quantity.ts";
import { NODEPOOL_LABEL_KEY } from "../../core/labels.ts";

/** Annotation carrying the NodePool/MachineTemplate hash a NodeClaim was made from (drift). */
export const TEMPLATE_HASH_ANNOTATION = "proxscale.io/template-hash";
/**
 * On a NodeClaim rebuilt after being lost: its first creation time (RFC 3339), which counts for
 * its age instead of the object's own creationTimestamp.
 */
export const CLAIM_CREATED_ANNOTATION = "proxscale.io/claim-created";

const str = z.string();
const time = z.union([z.string(), z.date()]);
const quantity = z.union([z.string(), z.number()]);
const stringMap = z.record(z.string(), z.string());
const metadata = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: time.nullish(),
  deletionTimestamp: time.nullish(),
  labels: stringMap.nullish(),
  annotations: stringMap.nullish(),
  ownerReferences: z.array(z.looseObject({
    kind: str,
    name: str,
    controller: z.boolean().nullish(),
  })).nullish(),
});
const resources = z.looseObject({
  requests: z.record(z.string(), quantity).nullish(),
  limits: z.record(z.string(), quantity).nullish(),
}).nullish();
const container = z.looseObject({
  name: str.optional(),
  resources,
  restartPolicy: str.nullish(),
  ports: z.array(z.looseObject({
    containerPort: z.number().int().nullish(),
    hostPort: z.number().int().nullish(),
    protocol: z.enum(["TCP", "UDP", "SCTP"]).nullish(),
    hostIP: str.nullish(),
  })).nullish(),
});
const taint = z.looseObject({
  key: str,
  value: str.nullish(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});
const nodeSelectorRequirement = z.looseObject({
  key: str,
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"]),
  values: z.array(str).nullish(),
});
const nodeSelectorTerm = z.looseObject({
  matchExpressions: z.array(nodeSelectorRequirement).nullish(),
  matchFields: z.array(nodeSelectorRequirement).nullish(),
});
const labelSelector = z.looseObject({
  matchLabels: stringMap.nullish(),
  matchExpressions: z.array(z.looseObject({
    key: str,
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
    values: z.array(str).nullish(),
  })).nullish(),
});
const podAffinityTerm = z.looseObject({
  labelSelector: labelSelector.nullish(),
  topologyKey: str,
  namespaces: z.array(str).nullish(),
});
const condition = z.looseObject({
  type: str,
  status: z.enum(["True", "False", "Unknown"]),
  reason: str.nullish(),
  message: str.nullish(),
  lastTransitionTime: time.nullish(),
});

const kubePod = z.looseObject({
  metadata,
  spec: z.looseObject({
    nodeName: str.nullish(),
    priority: z.number().int().nullish(),
    nodeSelector: stringMap.nullish(),
    containers: z.array(container),
    initContainers: z.array(container).nullish(),
    overhead: z.record(z.string(), quantity).nullish(),
    tolerations: z.array(z.looseObject({
      key: str.nullish(),
      operator: z.enum(["Exists", "Equal"]).nullish(),
      value: str.nullish(),
      effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).nullish().or(z.literal("")),
      tolerationSeconds: z.number().nullish(),
    })).nullish(),
    affinity: z.looseObject({
      nodeAffinity: z.looseObject({
        requiredDuringSchedulingIgnoredDuringExecution: z.looseObject({
          nodeSelectorTerms: z.array(nodeSelectorTerm),
        }).nullish(),
        preferredDuringSchedulingIgnoredDuringExecution: z.array(z.looseObject({
          weight: z.number().int(),
          preference: nodeSelectorTerm,
        })).nullish(),
      }).nullish(),
      podAntiAffinity: z.looseObject({
        requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).nullish(),
      }).nullish(),
      podAffinity: z.looseObject({
        requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).nullish(),
        preferredDuringSchedulingIgnoredDuringExecution: z.array(z.looseObject({
          weight: z.number().int(),
          podAffinityTerm,
        })).nullish(),
      }).nullish(),
    }).nullish(),
    topologySpreadConstraints: z.array(z.looseObject({
      maxSkew: z.number().int(),
      topologyKey: str,
      whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]),
      labelSelector: labelSelector.nullish(),
      minDomains: z.number().int().nullish(),
    })).nullish(),
    volumes: z.array(z.looseObject({
      name: str,
      persistentVolumeClaim: z.looseObject({ claimName: str }).nullish(),
    })).nullish(),
  }),
  status: z.looseObject({
    phase: z.enum(["Pending", "Running", "Succeeded", "Failed", "Unknown"]).nullish(),
    conditions: z.array(condition).nullish(),
  }).nullish(),
});

const kubeNode = z.looseObject({
  metadata,
  spec: z.looseObject({
    providerID: str.nullish(),
    unschedulable: z.boolean().nullish(),
    taints: z.array(taint).nullish(),
  }).nullish(),
  status: z.looseObject({
    allocatable: z.record(z.string(), quantity).nullish(),
    conditions: z.array(condition).nullish(),
  }).nullish(),
});

const kubePdb = z.looseObject({
  metadata: metadata.extend({ namespace: z.string().min(1) }),
  spec: z.looseObject({ selector: labelSelector.nullish() }).nullish(),
  status: z.looseObject({ disruptionsAllowed: z.number().int().nullish() }).nullish(),
});

const kubeNodeClaim = z.looseObject({
  metadata,
  spec: z.looseObject({
    nodePool: str,
    machineTemplate: str,
    provider: str,
    shape: z.looseObject({
      name: str,
      cpu: quantity,
      memory: quantity,
      gpus: z.looseObject({
        count: z.number().int().min(1),
        mapping: str.nullish(),
        model: str.nullish(),
        mdev: str.nullish(),
      }).nullish(),
    }),
    host: str.nullish(),
    taints: z.array(taint).nullish(),
    startupTaints: z.array(taint).nullish(),
  }),
  status: z.looseObject({
    vmid: z.number().int().nullish(),
    host: str.nullish(),
    providerID: str.nullish(),
    nodeName: str.nullish(),
    conditions: z.array(condition).nullish(),
    addresses: z.array(z.looseObject({ slot: str, pool: str, address: str })).nullish(),
  }).nullish(),
});

/** Why an object was not translated: a sentence naming the field. */
export type Malformed = string;

function zodReason(e: z.ZodError): Malformed {
  const i = e.issues[0]!;
  const path = i.path.map((p) => typeof p === "number" ? `[${p}]` : `.${String(p)}`).join("")
    .replace(/^\./, "");
  return `${path || "object"}: ${i.message}`;
}

/** Thrown inside translators for values zod cannot check (quantities, times). */
class Bad extends Error {}

function ms(t: string | Date | null | undefined, field: string): number | undefined {
  if (t === null || t === undefined) return undefined;
  const v = t instanceof Date ? t.getTime() : Date.parse(t);
  if (Number.isNaN(v)) throw new Bad(`${field}: not a time: ${String(t)}`);
  return v;
}
function qty(v: string | number, scale: 1 | 1000, field: string): number {
  const r = parseQuantity(v, scale);
  if (!r.ok) throw new Bad(`${field}: ${r.error}`);
  return r.value;
}
function requests(
  r: z.infer<typeof resources>,
  field: string,
): ContainerRequests {
  // The API server defaults requests to limits; older objects may only carry limits.
  const req = { ...(r?.limits ?? {}), ...(r?.requests ?? {}) };
  const out: ContainerRequests = {};
  for (const [name, v] of Object.entries(req)) {
    if (name === "cpu") out.cpu = qty(v, 1000, `${field}.cpu`);
    else if (name === "memory") out.memory = qty(v, 1, `${field}.memory`);
    else {
      const n = qty(v, 1, `${field}.${name}`);
      if (n > 0) (out.extended ??= {})[name] = n;
    }
  }
  return out;
}
function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined | null> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined | null> };
}
const taints = (list: z.infer<typeof taint>[] | null | undefined): Taint[] =>
  (list ?? []).map((t) => defined({ key: t.key, value: t.value ?? undefined, effect: t.effect }));
const req = (r: z.infer<typeof nodeSelectorRequirement>): Requirement =>
  defined({ key: r.key, operator: r.operator, values: r.values ?? undefined });
const term = (t: z.infer<typeof nodeSelectorTerm>): NodeSelectorTerm =>
  defined({
    matchExpressions: t.matchExpressions?.map(req),
    matchFields: t.matchFields?.map(req),
  });
const selector = (s: z.infer<typeof labelSelector>) =>
  defined({
    matchLabels: s.matchLabels ?? undefined,
    matchExpressions: s.matchExpressions?.map((e) =>
      defined({ key: e.key, operator: e.operator, values: e.values ?? undefined })
    ),
  });
const affinityTerm = (t: z.infer<typeof podAffinityTerm>): PodAffinityTerm =>
  defined({
    topologyKey: t.topologyKey,
    labelSelector: t.labelSelector ? selector(t.labelSelector) : undefined,
    namespaces: t.namespaces ?? undefined,
  });
const ownConditionTypes: ReadonlySet<string> = new Set(CONDITION_TYPES);

/**
 * A NodeClaim's conditions of proxscale's own types (core/model.ts CONDITION_TYPES). One of
 * another type (another controller's, a newer proxscale's) is no error: it is left out of the
 * model and stays on the object, since status writes merge into the stored list by type.
 */
const conditions = (list: z.infer<typeof condition>[] | null | undefined): Condition[] =>
  (list ?? []).flatMap((c, i) =>
    ownConditionTypes.has(c.type)
      ? [{
        type: c.type as ConditionType,
        status: c.status,
        reason: c.reason ?? "",
        message: c.message ?? "",
        lastTransitionTime:
          ms(c.lastTransitionTime, `status.conditions[${i}].lastTransitionTime`) ?? 0,
      }]
      : []
  );

/** Longest reason kept: a reason quotes a bad value, it never copies a huge one. */
const MAX_REASON = 500;

/** `m`, cut to MAX_REASON characters with the cut said. */
export function boundedMalformed(m: string): Malformed {
  return m.length <= MAX_REASON ? m : `${m.slice(0, MAX_REASON)}… (${m.length} characters)`;
}

/**
 * Runs a decoder so that whatever the object holds comes back as a value: its reason bounded,
 * and an object too large or too deeply nested for the schema library's recursion (a
 * RangeError from the stack) a Malformed instead of a crash.
 */
export function boundedDecode<T>(decode: () => Result<T, Malformed>): Result<T, Malformed> {
  try {
    const r = decode();
    return r.ok ? r : err(boundedMalformed(r.error));
  } catch (e) {
    if (e instanceof RangeError) return err("object: too large or too deeply nested to read");
    throw e;
  }
}

function guard<T>(parse: () => T): Result<T, Malformed> {
  return boundedDecode(() => {
    try {
      return ok(parse());
    } catch (e) {
      if (e instanceof Bad) return err(e.message);
      if (e instanceof z.ZodError) return err(zodReason(e));
      throw e;
    }
  });
}

/** A Kubernetes Pod as the core's scheduler model sees it. */
export function podFromKube(obj: unknown): Result<Pod, Malformed> {
  return guard(() => {
    const p = kubePod.parse(obj);
    const m = p.metadata;
    const created = ms(m.creationTimestamp, "metadata.creationTimestamp") ?? 0;
    const scheduled = p.status?.conditions?.find((c) => c.type === "PodScheduled");
    const unschedulable = scheduled?.status === "False" && scheduled.reason === "Unschedulable";
    const owner = m.ownerReferences?.find((o) => o.controller) ?? m.ownerReferences?.[0];
    const na = p.spec.affinity?.nodeAffinity;
    const anti = p.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    const local = (p.spec.volumes ?? []).some((v) => "emptyDir" in v || "hostPath" in v);
    const pa = p.spec.affinity?.podAffinity;
    const claims = (p.spec.volumes ?? []).flatMap((v) =>
      v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []
    );
    // Every container's hostPorts (init containers' too: they hold the port while running).
    const ports = [...p.spec.containers, ...(p.spec.initContainers ?? [])].flatMap((c) =>
      (c.ports ?? []).flatMap((q) =>
        q.hostPort
          ? [defined({
            port: q.hostPort,
            protocol: q.protocol ?? "TCP" as const,
            hostIP: q.hostIP || undefined,
          })]
          : []
      )
    );
    const pod: Pod = defined({
      uid: m.uid ?? `${m.namespace ?? "default"}/${m.name}`,
      name: m.name,
      namespace: m.namespace ?? "default",
      labels: m.labels ?? undefined,
      annotations: m.annotations ?? undefined,
      nodeName: p.spec.nodeName || undefined,
      phase: p.status?.phase ?? "Pending",
      unschedulable: unschedulable || undefined,
      boundAt: scheduled?.status === "True" && p.spec.nodeName
        ? ms(scheduled.lastTransitionTime, "status.conditions.PodScheduled")
        : undefined,
      pendingSince: unschedulable
        ? ms(scheduled!.lastTransitionTime, "status.conditions.PodScheduled") ?? created
        : undefined,
      createdAt: created,
      containers: p.spec.containers.map((c, i) =>
        requests(c.resources, `spec.containers[${i}].resources`)
      ),
      initContainers: p.spec.initContainers?.map((c, i) => {
        const r = requests(c.resources, `spec.initContainers[${i}].resources`);
        return c.restartPolicy === "Always" ? { ...r, sidecar: true } : r;
      }),
      overhead: p.spec.overhead
        ? requests({ requests: p.spec.overhead }, "spec.overhead")
        : undefined,
      nodeSelector: p.spec.nodeSelector ?? undefined,
      requiredNodeAffinity: na?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
        .map(term),
      preferredNodeAffinity: na?.preferredDuringSchedulingIgnoredDuringExecution?.map((w) => ({
        weight: w.weight,
        preference: term(w.preference),
      })),
      requiredPodAntiAffinity: anti?.map(affinityTerm),
      requiredPodAffinity: pa?.requiredDuringSchedulingIgnoredDuringExecution?.map(affinityTerm),
      preferredPodAffinity: pa?.preferredDuringSchedulingIgnoredDuringExecution?.map((w) => ({
        weight: w.weight,
        term: affinityTerm(w.podAffinityTerm),
      })),
      hostPorts: ports.length ? ports : undefined,
      volumeClaims: claims.length ? claims : undefined,
      tolerations: p.spec.tolerations?.map((t): Toleration =>
        defined({
          key: t.key || undefined,
          operator: t.operator ?? undefined,
          value: t.value ?? undefined,
          effect: t.effect || undefined,
          tolerationSeconds: t.tolerationSeconds ?? undefined,
        })
      ),
      topologySpreadConstraints: p.spec.topologySpreadConstraints?.map((c) =>
        defined({
          maxSkew: c.maxSkew,
          topologyKey: c.topologyKey,
          whenUnsatisfiable: c.whenUnsatisfiable,
          labelSelector: c.labelSelector ? selector(c.labelSelector) : undefined,
          minDomains: c.minDomains ?? undefined,
        })
      ),
      ownerKind: owner?.kind,
      ownerName: owner?.name,
      priority: p.spec.priority ?? undefined,
      localStorage: local || undefined,
      deleting: m.deletionTimestamp ? true : undefined,
    });
    return pod;
  });
}

/** A Kubernetes Node: allocatable capacity, readiness, taints and cordon state. */
export function nodeFromKube(obj: unknown): Result<Node, Malformed> {
  return guard(() => {
    const n = kubeNode.parse(obj);
    const alloc = n.status?.allocatable ?? {};
    const ready = n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    const extended: Record<string, number> = {};
    for (const [name, v] of Object.entries(alloc)) {
      if (name === "cpu" || name === "memory" || name === "pods") continue;
      extended[name] = qty(v, 1, `status.allocatable.${name}`);
    }
    return defined({
      name: n.metadata.name,
      providerID: n.spec?.providerID || undefined,
      labels: n.metadata.labels ?? {},
      annotations: n.metadata.annotations ?? undefined,
      taints: n.spec?.taints ? taints(n.spec.taints) : undefined,
      allocatable: defined({
        cpu: alloc.cpu === undefined ? 0 : qty(alloc.cpu, 1000, "status.allocatable.cpu"),
        memory: alloc.memory === undefined ? 0 : qty(alloc.memory, 1, "status.allocatable.memory"),
        pods: alloc.pods === undefined ? undefined : qty(alloc.pods, 1, "status.allocatable.pods"),
        extended: Object.keys(extended).length ? extended : undefined,
      }),
      ready,
      unschedulable: n.spec?.unschedulable || undefined,
      createdAt: ms(n.metadata.creationTimestamp, "metadata.creationTimestamp") ?? 0,
      deleting: n.metadata.deletionTimestamp ? true : undefined,
    });
  });
}

/**
 * A PodDisruptionBudget. A PDB without selector selects no pod (policy/v1), so it is reported
 * as not applicable rather than translated into a selector that would match everything.
 */
export function pdbFromKube(obj: unknown): Result<PodDisruptionBudget, Malformed> {
  return guard(() => {
    const p = kubePdb.parse(obj);
    if (!p.spec?.selector) throw new Bad("spec.selector: absent, so the budget selects no pods");
    return {
      name: p.metadata.name,
      namespace: p.metadata.namespace,
      selector: selector(p.spec.selector),
      disruptionsAllowed: p.status?.disruptionsAllowed ?? 0,
    };
  });
}

/** A NodeClaim's written GPUs as core's ShapeGpus (absent fields left out). */
function shapeGpus(
  g: {
    count: number;
    mapping?: string | null | undefined;
    model?: string | null | undefined;
    mdev?: string | null | undefined;
  },
): ShapeGpus {
  return {
    count: g.count,
    ...(g.mapping ? { mapping: g.mapping } : {}),
    ...(g.model ? { model: g.model } : {}),
    ...(g.mdev ? { mdev: g.mdev } : {}),
  };
}

/** A NodeClaim custom resource. */
export function nodeClaimFromKube(obj: unknown): Result<NodeClaim, Malformed> {
  return guard(() => {
    const c = kubeNodeClaim.parse(obj);
    const m = c.metadata;
    const s = c.spec;
    return defined({
      name: m.name,
      nodePool: s.nodePool,
      machineTemplate: s.machineTemplate,
      provider: s.provider,
      shape: {
        name: s.shape.name,
        cpu: qty(s.shape.cpu, 1000, "spec.shape.cpu"),
        memory: qty(s.shape.memory, 1, "spec.shape.memory"),
        ...(s.shape.gpus ? { gpus: shapeGpus(s.shape.gpus) } : {}),
      },
      host: c.status?.host || s.host || undefined,
      vmid: c.status?.vmid ?? undefined,
      providerID: c.status?.providerID || undefined,
      nodeName: c.status?.nodeName || undefined,
      createdAt: claimCreated(m.annotations?.[CLAIM_CREATED_ANNOTATION]) ??
        ms(m.creationTimestamp, "metadata.creationTimestamp") ?? 0,
      labels: m.labels ?? {},
      taints: taints(s.taints),
      startupTaints: taints(s.startupTaints),
      templateHash: m.annotations?.[TEMPLATE_HASH_ANNOTATION],
      conditions: conditions(c.status?.conditions),
      deleting: m.deletionTimestamp ? true : undefined,
      addresses: c.status?.addresses?.length
        ? c.status.addresses.map((a) => ({ slot: a.slot, pool: a.pool, address: a.address }))
        : undefined,
    });
  });
}

/** A valid, positive claim-created annotation as epoch ms; anything else is ignored. */
function claimCreated(text: string | undefined): number | undefined {
  const t = text === undefined ? NaN : Date.parse(text);
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

/** RFC 3339 to the second, as metav1.Time is written. */
export function kubeTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The custom resource for a NodeClaim the core decided to launch (status is written apart). */
export function nodeClaimToKube(c: NodeClaim): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    nodePool: c.nodePool,
    machineTemplate: c.machineTemplate,
    provider: c.provider,
    shape: {
      name: c.shape.name,
      cpu: `${c.shape.cpu}m`,
      memory: String(c.shape.memory),
      ...(c.shape.gpus ? { gpus: c.shape.gpus } : {}),
    },
    taints: c.taints,
    startupTaints: c.startupTaints,
  };
  if (c.host) spec.host = c.host;
  const annotations: Record<string, string> = {};
  if (c.templateHash) annotations[TEMPLATE_HASH_ANNOTATION] = c.templateHash;
  // A rebuilt claim keeps its first creation time (expireAfter counts from it).
  if (c.adoptedAt !== undefined) {
    annotations[CLAIM_CREATED_ANNOTATION] = new Date(c.createdAt).toISOString();
  }
  return {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "NodeClaim",
    metadata: {
      name: c.name,
      labels: { ...c.labels, [NODEPOOL_LABEL_KEY]: c.nodePool },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec,
  };
}

/** metav1.Condition list for a NodeClaim's status. */
export function conditionsToKube(list: Condition[], observedGeneration?: number) {
  return list.map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    lastTransitionTime: kubeTime(c.lastTransitionTime),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  }));
}
