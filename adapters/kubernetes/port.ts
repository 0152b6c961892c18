/**
 * The Kubernetes port: every write the daemon's workers make to the cluster, as one interface.
 * `KubeWriter` is the real implementation (the writers of this folder over one KubeClient);
 * the simulator or unit tests can supply an in-memory one. Reads go through the informers
 * (cluster_informers.ts), leadership through leader_elector.ts.
 */
import type { AuthExtraGroup, BootstrapToken } from "../../core/bootstrap_token.ts";
import type { NodeClaim, Taint } from "../../core/model.ts";
import type { Reason } from "../../core/reason.ts";
import type { Result } from "../../core/result.ts";
import {
  createBootstrapTokenSecret,
  deleteBootstrapTokenSecret,
  deleteExpiredBootstrapTokenSecrets,
} from "./bootstrap_secrets.ts";
import type { KubeClient, KubeError } from "./client.ts";
import {
  type ConfigPlural,
  type ConfigStatusUpdate,
  setConfigStatus,
} from "./config_status_writer.ts";
import { EventRecorder, type EventSubject } from "./events.ts";
import {
  type EvictError,
  type EvictOptions,
  Evictor,
  type EvictorOptions,
  type EvictOutcome,
  type EvictTarget,
} from "./eviction.ts";
import {
  deleteNode,
  setNodeLabels,
  setNodeUnschedulable,
  updateNodeTaints,
} from "./node_writer.ts";
import {
  createNodeClaim,
  deleteNodeClaim,
  type NodeClaimStatusUpdate,
  setNodeClaimStatus,
} from "./nodeclaim_writer.ts";

/** What the daemon may change in the cluster. Every method returns a value, never throws. */
export interface KubernetesWriter {
  createNodeClaim(claim: NodeClaim): Promise<Result<{ created: boolean }, KubeError>>;
  setNodeClaimStatus(
    name: string,
    update: NodeClaimStatusUpdate,
  ): Promise<Result<{ changed: boolean }, KubeError>>;
  deleteNodeClaim(name: string): Promise<Result<{ existed: boolean }, KubeError>>;
  setConfigStatus(
    plural: ConfigPlural,
    name: string,
    update: ConfigStatusUpdate,
  ): Promise<Result<{ changed: boolean }, KubeError>>;
  setNodeLabels(
    node: string,
    labels: Record<string, string | null>,
  ): Promise<Result<void, KubeError>>;
  setNodeUnschedulable(node: string, unschedulable: boolean): Promise<Result<void, KubeError>>;
  updateNodeTaints(
    node: string,
    edit: { add?: Taint[]; remove?: Pick<Taint, "key" | "effect">[] },
  ): Promise<Result<{ changed: boolean }, KubeError>>;
  deleteNode(
    node: string,
    opts?: { uid?: string },
  ): Promise<Result<{ existed: boolean }, KubeError>>;
  evict(pod: EvictTarget, opts?: EvictOptions): Promise<Result<EvictOutcome, EvictError>>;
  recordEvent(
    subject: EventSubject,
    reason: Reason,
  ): Promise<Result<{ name: string; count: number }, KubeError>>;
  createBootstrapToken(
    token: BootstrapToken,
    ttlMs: number,
    opts?: { group?: AuthExtraGroup; nodeClaim?: string },
  ): Promise<Result<{ name: string; expiresAt: number }, KubeError>>;
  deleteBootstrapToken(tokenId: string): Promise<Result<{ existed: boolean }, KubeError>>;
  deleteExpiredBootstrapTokens(
    tokenIds: readonly string[],
  ): Promise<Result<{ deleted: string[]; gone: string[] }, KubeError>>;
}

/** The real writer: one KubeClient, one clock, one Evictor (shared rate limit), one recorder. */
export class KubeWriter implements KubernetesWriter {
  #client: KubeClient;
  #now: () => number;
  #evictor: Evictor;
  #events: EventRecorder;

  constructor(
    client: KubeClient,
    opts: { now?: () => number; instance?: string; eviction?: EvictorOptions } = {},
  ) {
    this.#client = client;
    this.#now = opts.now ?? Date.now;
    this.#evictor = new Evictor(client, { now: this.#now, ...opts.eviction });
    this.#events = new EventRecorder(client, {
      now: this.#now,
      ...(opts.instance ? { instance: opts.instance } : {}),
    });
  }

  async createNodeClaim(claim: NodeClaim) {
    const r = await createNodeClaim(this.#client, claim);
    return r.ok ? { ok: true as const, value: { created: r.value.created } } : r;
  }
  setNodeClaimStatus(name: string, update: NodeClaimStatusUpdate) {
    return setNodeClaimStatus(this.#client, name, update, this.#now);
  }
  deleteNodeClaim(name: string) {
    return deleteNodeClaim(this.#client, name);
  }
  setConfigStatus(plural: ConfigPlural, name: string, update: ConfigStatusUpdate) {
    return setConfigStatus(this.#client, plural, name, update, this.#now);
  }
  setNodeLabels(node: string, labels: Record<string, string | null>) {
    return setNodeLabels(this.#client, node, labels);
  }
  setNodeUnschedulable(node: string, unschedulable: boolean) {
    return setNodeUnschedulable(this.#client, node, unschedulable);
  }
  updateNodeTaints(
    node: string,
    edit: { add?: Taint[]; remove?: Pick<Taint, "key" | "effect">[] },
  ) {
    return updateNodeTaints(this.#client, node, edit, this.#now);
  }
  deleteNode(node: string, opts: { uid?: string } = {}) {
    return deleteNode(this.#client, node, opts);
  }
  evict(pod: EvictTarget, opts: EvictOptions = {}) {
    return this.#evictor.evict(pod, opts);
  }
  recordEvent(subject: EventSubject, reason: Reason) {
    return this.#events.record(subject, reason);
  }
  createBootstrapToken(
    token: BootstrapToken,
    ttlMs: number,
    opts: { group?: AuthExtraGroup; nodeClaim?: string } = {},
  ) {
    return createBootstrapTokenSecret(this.#client, token, this.#now(), ttlMs, opts);
  }
  deleteBootstrapToken(tokenId: string) {
    return deleteBootstrapTokenSecret(this.#client, tokenId);
  }
  deleteExpiredBootstrapTokens(tokenIds: readonly string[]) {
    return deleteExpiredBootstrapTokenSecrets(this.#client, this.#now(), tokenIds);
  }
}
