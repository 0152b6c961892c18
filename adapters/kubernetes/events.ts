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

type Seen = { name: string; namespace: string; count: number };

/** Writes Events for one controller instance. */
export class EventRecorder {
  #client: KubeClient;
  #component: string;
  #instance: string;
  #now: () => number;
  #redactor: Redactor;
  #seen = new Map<string, Seen>();
  #seq = 0;

  constructor(
    client: KubeClient,
    opts: { component?: string; instance?: string; now?: () => number; redactor?: Redactor } = {},
  ) {
    // An Event is readable by anyone who may list Events: its message passes the same
    // redaction guard as logs, since a reason may quote an upstream error that echoed a secret.
    this.#redactor = opts.redactor ?? defaultRedactor;
    this.#client = client;
    this.#component = opts.component ?? "proxscale";
    this.#instance = opts.instance ?? "proxscale";
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Records `reason` on `subject` (a Warning or a Normal Event as its code says); repeats bump
   * the count of the existing Event.
   */
  async record(
    subject: EventSubject,
    reason: Reason,
  ): Promise<Result<{ name: string; count: number }, KubeError>> {
    const namespace = subject.namespace ?? "default";
    const scrubbed = this.#redactor.scrub(reason.message);
    const message = scrubbed.length > 1024 ? scrubbed.slice(0, 1021) + "..." : scrubbed;
    const key = JSON.stringify([subject.kind, namespace, subject.name, reason.code, message]);
    const now = kubeTime(this.#now());
    const seen = this.#seen.get(key);
    if (seen) {
      const r = await this.#client.requestJson(
        "PATCH",
        `/api/v1/namespaces/${seen.namespace}/events/${seen.name}`,
        {
          body: { count: seen.count + 1, lastTimestamp: now },
          contentType: PatchType.MergePatch,
        },
      );
      if (r.ok) {
        seen.count++;
        return ok({ name: seen.name, count: seen.count });
      }
      if (!isNotFound(r.error)) return r;
      this.#seen.delete(key); // expired (event TTL): start a new one
    }
    // kubectl-style unique suffix: time in hex plus a per-recorder sequence number.
    const seq = (this.#seq++ % 0x10000).toString(16).padStart(4, "0");
    const name = `${subject.name}.${this.#now().toString(16)}${seq}`;
    const r = await this.#client.requestJson("POST", `/api/v1/namespaces/${namespace}/events`, {
      body: eventFor(subject, reason, {
        name,
        namespace,
        message,
        time: now,
        component: this.#component,
        instance: this.#instance,
      }),
    });
    if (!r.ok) return r;
    this.#seen.set(key, { name, namespace, count: 1 });
    return ok({ name, count: 1 });
  }
}
