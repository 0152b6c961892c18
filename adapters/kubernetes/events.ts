/**
 * Kubernetes Events carrying a decision's Reason (core/reason.ts): `reason` is the Reason code,
 * `message` its plain-words message, so `kubectl describe nodepool general` says why proxscale
 * did (or did not) act. core/v1 Events with firstTimestamp/lastTimestamp/count, as kubectl and
 * describe read them; repeats of the same reason and message on the
 * same object increment `count` with a merge patch instead of piling up new objects.
 *
 * The one place Events are built: an Event's type (Normal or Warning) comes from its reason
 * code (core/reason.ts REASON_SEVERITY), never from the caller, and the subjects proxscale
 * records on (NodeClaim, NodePool, Provider, Node) are made by the helpers here.
 *
 * May import: core/, adapters/.
 */
import { type Reason, type ReasonSeverity, severityOf } from "../../core/reason.ts";
import { ok, type Result } from "../../core/result.ts";
import { isNotFound, type KubeClient, type KubeError, PatchType } from "./client.ts";
import { kubeTime } from "./translate.ts";
import { defaultRedactor, type Redactor } from "../telemetry/redact.ts";
import { Semaphore } from "../proxmox/semaphore.ts";

/**
 * Where the recorder reads the uid of a subject that came without one: `kubectl describe` lists
 * an object's Events by `involvedObject.uid`, so an Event without it is invisible there. Kinds
 * whose objects proxscale may `get` (shipped RBAC); a Pod's uid comes from the caller, who has
 * it in the informer cache (proxscale may not get pods).
 */
const UID_PATHS: Readonly<Record<string, (name: string) => string>> = {
  "proxscale.io/v1alpha1/NodeClaim": (n) => `/apis/proxscale.io/v1alpha1/nodeclaims/${n}`,
  "proxscale.io/v1alpha1/NodePool": (n) => `/apis/proxscale.io/v1alpha1/nodepools/${n}`,
  "proxscale.io/v1alpha1/Provider": (n) => `/apis/proxscale.io/v1alpha1/providers/${n}`,
  "proxscale.io/v1alpha1/MachineTemplate": (n) =>
    `/apis/proxscale.io/v1alpha1/machinetemplates/${n}`,
  "proxscale.io/v1alpha1/Tenant": (n) => `/apis/proxscale.io/v1alpha1/tenants/${n}`,
  "v1/Node": (n) => `/api/v1/nodes/${n}`,
};

/** The object an Event is about. Cluster-scoped objects get their Events in `default`. */
export type EventSubject = {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
};

/** An Event's type: decided by its reason code (core/reason.ts REASON_SEVERITY). */
export type EventType = ReasonSeverity;

const PROXSCALE_API = "proxscale.io/v1alpha1";

/** The subject of an Event about NodeClaim `name`. */
export function nodeClaimSubject(name: string): EventSubject {
  return { apiVersion: PROXSCALE_API, kind: "NodeClaim", name };
}

/** The subject of an Event about NodePool `name`. */
export function nodePoolSubject(name: string): EventSubject {
  return { apiVersion: PROXSCALE_API, kind: "NodePool", name };
}

/** The subject of an Event about Provider `name`. */
export function providerSubject(name: string): EventSubject {
  return { apiVersion: PROXSCALE_API, kind: "Provider", name };
}

/** The subject of an Event about Node `name`. */
export function nodeSubject(name: string): EventSubject {
  return { apiVersion: "v1", kind: "Node", name };
}

/**
 * The subject of an Event about the pod `namespace/name` (a plan's pod key). Its `uid` comes
 * from the caller's informer or snapshot: proxscale may not read pods one by one, and without
 * the uid `kubectl describe pod` does not list the Event.
 */
export function podSubject(key: string, uid: string | undefined): EventSubject {
  const slash = key.indexOf("/");
  return {
    apiVersion: "v1",
    kind: "Pod",
    namespace: key.slice(0, slash),
    name: key.slice(slash + 1),
    ...(uid ? { uid } : {}),
  };
}

/** What a new Event object needs besides its subject and reason. */
export type EventMeta = {
  name: string;
  namespace: string;
  /** The message as stored (already redacted and bounded). */
  message: string;
  /** RFC 3339 time of the first (and last) occurrence. */
  time: string;
  component: string;
  instance: string;
};

/**
 * The core/v1 Event for `reason` on `subject`: `reason` is the code, `type` is the code's
 * severity, `involvedObject` names the subject.
 */
export function eventFor(
  subject: EventSubject,
  reason: Reason,
  meta: EventMeta,
): Record<string, unknown> {
  const involvedObject: Record<string, string> = {
    apiVersion: subject.apiVersion,
    kind: subject.kind,
    name: subject.name,
  };
  if (subject.namespace) involvedObject.namespace = subject.namespace;
  if (subject.uid) involvedObject.uid = subject.uid;
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: meta.name, namespace: meta.namespace },
    involvedObject,
    reason: reason.code,
    message: meta.message,
    type: severityOf(reason.code),
    source: { component: meta.component },
    firstTimestamp: meta.time,
    lastTimestamp: meta.time,
    count: 1,
    reportingComponent: meta.component,
    reportingInstance: meta.instance,
  };
}

/** Writes in flight at once, unless the recorder is told otherwise. */
export const EVENT_WRITES_IN_FLIGHT = 4;
/** How often a repeated Event is written again at most (its count is kept in between). */
export const EVENT_REPEAT_INTERVAL_MS = 60_000;
/** Distinct Events remembered to count repeats (client-go's event cache keeps 4,096 too). */
export const EVENTS_REMEMBERED = 4096;

type Seen = {
  /** The Event object once written (undefined until its first write succeeds). */
  name: string | undefined;
  namespace: string;
  /** Occurrences recorded so far; the object's `count` catches up on its next write. */
  count: number;
  /** When the object was last written (epoch ms). */
  writtenAt: number;
  /** The write queued or running for this Event: repeats meanwhile share it. */
  pending: Promise<Result<{ name: string; count: number }, KubeError>> | undefined;
};

/**
 * Writes Events for one controller instance. Writes are queued and at most `inFlight` run at
 * once: a pass that decides about 1,000 NodeClaims must not open 1,000 requests at the API
 * server (that burst alone held ~50 MB of the daemon's memory, docs/performance.md). A repeat
 * of an Event (same object, reason and message) while its write waits joins that write, and
 * one within `repeatInterval` of the last write is only counted: the next write carries the
 * count, as client-go's event correlator aggregates repeats instead of writing each.
 */
export class EventRecorder {
  #client: KubeClient;
  #component: string;
  #instance: string;
  #now: () => number;
  #redactor: Redactor;
  #seen = new Map<string, Seen>();
  #seq = 0;
  /** Writes in flight: permits are handed out in the order asked. */
  readonly #gate: Semaphore;
  readonly #repeatInterval: number;
  readonly #remember: number;

  constructor(
    client: KubeClient,
    opts: {
      component?: string;
      instance?: string;
      now?: () => number;
      redactor?: Redactor;
      /** Writes in flight at once (default EVENT_WRITES_IN_FLIGHT). */
      inFlight?: number;
      /** Least time between two writes of one repeated Event (default 60 s). */
      repeatInterval?: number;
      /** Distinct Events remembered to count repeats (default EVENTS_REMEMBERED). */
      remember?: number;
    } = {},
  ) {
    // An Event is readable by anyone who may list Events: its message passes the same
    // redaction guard as logs, since a reason may quote an upstream error that echoed a secret.
    this.#redactor = opts.redactor ?? defaultRedactor;
    this.#client = client;
    this.#component = opts.component ?? "proxscale";
    this.#instance = opts.instance ?? "proxscale";
    this.#now = opts.now ?? Date.now;
    this.#gate = new Semaphore(opts.inFlight ?? EVENT_WRITES_IN_FLIGHT);
    this.#repeatInterval = opts.repeatInterval ?? EVENT_REPEAT_INTERVAL_MS;
    this.#remember = Math.max(1, opts.remember ?? EVENTS_REMEMBERED);
  }

  /**
   * Records `reason` on `subject` (a Warning or a Normal Event as its code says); repeats bump
   * the count of the existing Event. Resolves once the occurrence is written, or counted for a
   * later write.
   */
  record(
    subject: EventSubject,
    reason: Reason,
  ): Promise<Result<{ name: string; count: number }, KubeError>> {
    const namespace = subject.namespace ?? "default";
    const scrubbed = this.#redactor.scrub(reason.message);
    const message = scrubbed.length > 1024 ? scrubbed.slice(0, 1021) + "..." : scrubbed;
    const key = JSON.stringify([subject.kind, namespace, subject.name, reason.code, message]);
    let seen = this.#seen.get(key);
    if (seen) {
      // Most recently recorded last: the oldest entries are the first dropped.
      this.#seen.delete(key);
      this.#seen.set(key, seen);
      seen.count++;
      if (seen.pending) return seen.pending;
      if (seen.name !== undefined && this.#now() - seen.writtenAt < this.#repeatInterval) {
        return Promise.resolve(ok({ name: seen.name, count: seen.count }));
      }
    } else {
      seen = { name: undefined, namespace, count: 1, writtenAt: 0, pending: undefined };
      this.#seen.set(key, seen);
      this.#forgetOldest();
    }
    const entry = seen;
    const write = this.#queued(() => this.#write(key, entry, subject, reason, message));
    entry.pending = write;
    void write.finally(() => {
      if (entry.pending === write) entry.pending = undefined;
    });
    return write;
  }

  /**
   * Keeps the Events remembered for counting to the `remember` most recently recorded: a
   * message can carry a figure that changes from pass to pass, and a daemon that runs for months
   * must not keep every message it ever wrote. A forgotten Event that recurs is a new object (the
   * API server drops Events after an hour by default anyway).
   */
  #forgetOldest(): void {
    for (const [key, s] of this.#seen) {
      if (this.#seen.size <= this.#remember) return;
      if (s.pending === undefined) this.#seen.delete(key);
    }
  }

  /** Events remembered for counting repeats. */
  get remembered(): number {
    return this.#seen.size;
  }

  /** Runs `fn` once fewer than `inFlight` writes are running, in the order asked. */
  async #queued<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.#gate.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * The subject's uid read from the API server, once per new Event object (repeats patch the
   * object already written). Undefined when the kind is not one proxscale may read, or the
   * object is gone or unreadable: the Event is still written, `kubectl get events` shows it.
   */
  async #uidOf(subject: EventSubject): Promise<string | undefined> {
    const path = UID_PATHS[`${subject.apiVersion}/${subject.kind}`];
    if (!path) return undefined;
    const r = await this.#client.requestJson("GET", path(encodeURIComponent(subject.name)));
    if (!r.ok) return undefined;
    const uid = (r.value.body as { metadata?: { uid?: unknown } } | undefined)?.metadata?.uid;
    return typeof uid === "string" && uid !== "" ? uid : undefined;
  }

  /** Creates the Event, or patches its count and last time (a new one if it expired). */
  async #write(
    key: string,
    seen: Seen,
    subject: EventSubject,
    reason: Reason,
    message: string,
  ): Promise<Result<{ name: string; count: number }, KubeError>> {
    const now = kubeTime(this.#now());
    const count = seen.count;
    if (seen.name !== undefined) {
      const r = await this.#client.requestJson(
        "PATCH",
        `/api/v1/namespaces/${seen.namespace}/events/${seen.name}`,
        { body: { count, lastTimestamp: now }, contentType: PatchType.MergePatch },
      );
      if (r.ok) {
        seen.writtenAt = this.#now();
        return ok({ name: seen.name, count });
      }
      if (!isNotFound(r.error)) return r;
      // Expired (event TTL): start a new object, counting from this occurrence.
      seen.name = undefined;
      seen.count = 1;
    }
    // kubectl-style unique suffix: time in hex plus a per-recorder sequence number.
    const seq = (this.#seq++ % 0x10000).toString(16).padStart(4, "0");
    const name = `${subject.name}.${this.#now().toString(16)}${seq}`;
    const body = eventFor(subject, reason, {
      name,
      namespace: seen.namespace,
      message,
      time: now,
      component: this.#component,
      instance: this.#instance,
    });
    const uid = subject.uid ?? await this.#uidOf(subject);
    if (uid !== undefined) (body.involvedObject as Record<string, string>).uid = uid;
    body.count = seen.count;
    const r = await this.#client.requestJson(
      "POST",
      `/api/v1/namespaces/${seen.namespace}/events`,
      {
        body,
      },
    );
    if (!r.ok) {
      // Not written: the next occurrence tries again, from scratch.
      if (this.#seen.get(key) === seen) this.#seen.delete(key);
      return r;
    }
    seen.name = name;
    seen.writtenAt = this.#now();
    return ok({ name, count: body.count as number });
  }
}
