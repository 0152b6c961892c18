/**
 * What the daemon's executor and workers share: the Kubernetes client they write with, the
 * informers they read, the providers, the queue, the clock, the current configuration and
 * where decisions are reported. Tests build one against the fakes; `startDaemon` builds the
 * production one.
 *
 * May import: core/, adapters/, daemon/ports/.
 */
import type { Config, VM } from "../core/model.ts";
import type { Reason } from "../core/reason.ts";
import type { SpanRef, Tracing } from "../adapters/telemetry/tracing.ts";
import type { DisruptionCommand } from "../core/disruption.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import type { ClusterInformers } from "../adapters/kubernetes/cluster_informers.ts";
import type { EventRecorder } from "../adapters/kubernetes/events.ts";
import type { MachineProvider } from "./ports/provider.ts";
import type { JobQueue } from "./ports/queue.ts";
import type { Clock } from "./ports/clock.ts";
import type { HostPowerPort } from "./ports/host_power.ts";
import type { RandomBytes } from "../core/bootstrap_token.ts";
import type { DemandRecorder } from "./demand_history.ts";
import type { LaunchGuard } from "./launch_guard.ts";
import type { TemplateJob } from "./template_jobs.ts";

/** The jobs the executor enqueues; the worker dispatches on `kind`. */
export type JobData = JobKind & { origin?: JobOrigin };

/** What a job does. */
type JobKind =
  | { kind: "launch"; claim: string }
  | { kind: "finalize"; claim: string }
  | { kind: "gc-vm"; vm: VM & { claim: string } }
  | { kind: "remove-node"; node: string }
  | { kind: "disrupt"; command: DisruptionCommand }
  /** Detach and delete the claim's seed ISO, delete its join token Secret (daemon/bootstrap.ts). */
  | { kind: "release-bootstrap"; claim: string; why: string }
  /** Build or remove a template VM made from a cloud image (daemon/template_jobs.ts). */
  | TemplateJob;

/** One line of what the daemon decided or did, for the live output and logs. */
export type DecisionReport = {
  time: number;
  /** The action kind or the step carried out (LaunchClaim, VmCreated, NodeDeleted ...). */
  what: string;
  nodeclaim?: string;
  /**
   * The NodePool of the claim, node or VM (filled in by the daemon when the step omits it), or
   * the pool a pool-wide decision is about (RepairPaused).
   */
  nodepool?: string;
  node?: string;
  vmid?: number;
  /** The Provider a host-level decision is about (host power). */
  provider?: string;
  host?: string;
  /** A pod acted on (namespace/name), e.g. an eviction. */
  pod?: string;
  /** How a step that changed something ended; absent for decisions. */
  outcome?: "succeeded" | "failed";
  reason: Reason;
  /** Pods a launch is for (namespace/name). */
  pods?: string[];
  /** When the pass that decided started (its Snapshot's now). */
  passAt?: number;
  /** True when only decided (paused, or not the leader). */
  dryRun?: boolean;
};

/**
 * Why a job was queued: the decision's reason and the action span that queued it, so the
 * worker's job span joins the action's trace (as its child) even though it runs later, and
 * the NodePool it is for, so the job span and its PVE calls can be filtered by pool.
 */
export type JobOrigin = { reason?: Reason; span?: SpanRef; nodepool?: string };

/**
 * Named points where a crash test stops the daemon dead: the launch and deletion steps the
 * issue lists. The PVE steps (after VMID reserve, clone, start) are injected around the PVE
 * client; these are the ones the daemon itself passes.
 */
export type CrashStep =
  | "after-claim-created"
  | "after-launch"
  | "after-registration"
  | "mid-drain"
  | "after-vm-deleted";

/** Everything workers and the executor need. */
export type DaemonContext = {
  kube: KubeClient;
  informers: ClusterInformers;
  providers: ReadonlyMap<string, MachineProvider>;
  config: () => Config;
  queue: JobQueue<JobData>;
  clock: Clock;
  /** Spans for passes, actions, jobs and calls; absent means none (unit tests). */
  tracing?: Tracing;
  report: (d: DecisionReport) => void;
  /** Awaited at each CrashStep; a crash test makes it never return. */
  hook: (step: CrashStep, detail: string) => Promise<void>;
  events?: EventRecorder;
  /** BMC power control of Proxmox hosts (host power management); absent: none. */
  hostPower?: HostPowerPort;
  /** Per-pool backoff of launches that retrying cannot heal, and the claim rate bound. */
  launchGuard?: LaunchGuard;
  /** Poll period of drains and replacement waits (ms). */
  pollInterval: number;
  /**
   * Node bootstrap inputs: the join-token random source (default crypto.getRandomValues; tests
   * inject a known one), the cluster CA when bootstrap.caCertHashFrom is unset, and proxscale's
   * namespace, where the ledger of minted token ids lives (default proxscale-system).
   */
  bootstrap?: { random?: RandomBytes; caPem?: string; namespace?: string };
  /** Pools' demand history, recorded and kept in the cluster while a pool forecasts. */
  demand?: DemandRecorder;
};
