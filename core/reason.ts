/**
 * Every decision carries a Reason: a stable `code` (metric label, Event reason, condition
 * reason) and a `message` in plain words with the numbers that led to it. The same value is
 * written to the log line, the Kubernetes Event, the NodeClaim condition and the trace span.
 *
 * The codes are a closed set: REASON_SEVERITY below lists each one once, with the type of the
 * Event that carries it, so a code outside the set does not type-check and none lacks a type.
 *
 * May import: nothing.
 */

/** How an Event carrying a reason reads: Warning when something went wrong, else Normal. */
export type ReasonSeverity = "Normal" | "Warning";

/**
 * Every reason code with the Event type it is recorded as: Warning when something went wrong
 * or needs a look (a failure, a timeout, an orphan, a paused repair), Normal for a decision or
 * plain news. The one table every Event takes its type from.
 */
export const REASON_SEVERITY = {
  // provisioning
  PodsPending: "Normal",
  FitsExistingCapacity: "Normal",
  FitsInFlightClaim: "Normal",
  NoCompatiblePool: "Normal",
  PoolLimitReached: "Normal",
  NoShapeFits: "Normal",
  HostCapacityExhausted: "Normal",
  BatchSizeReached: "Normal",
  MaxConcurrentReached: "Normal",
  StabilizationWindow: "Normal",
  PodNotManaged: "Normal",
  DaemonSetPod: "Normal",
  PodNotUnschedulable: "Normal",
  PodUnschedulableAnywhere: "Normal",
  MinNodes: "Normal",
  ResourceNotOffered: "Normal",
  VolumeNotBound: "Normal",
  PlannedHostUnavailable: "Normal",
  TenantNotAllowed: "Normal",
  TenantQuotaReached: "Warning",
  Forecast: "Normal",
  ForecastOff: "Normal",
  // lifecycle
  Launched: "Normal",
  Registered: "Normal",
  Initialized: "Normal",
  Ready: "Normal",
  StatusUpdated: "Normal",
  LaunchTimeout: "Warning",
  RegistrationTimeout: "Warning",
  NodeNotReady: "Warning",
  RepairPaused: "Warning",
  LaunchFailed: "Warning",
  LaunchFailing: "Warning",
  LaunchBackoff: "Normal",
  ClaimRateLimited: "Normal",
  Finalizing: "Normal",
  // disruption
  Empty: "Normal",
  Underutilized: "Normal",
  Drifted: "Normal",
  Expired: "Normal",
  BudgetExhausted: "Normal",
  DoNotDisrupt: "Normal",
  PdbBlocked: "Normal",
  DrainTimeout: "Warning",
  Unconsolidatable: "Normal",
  PodNotEvictable: "Normal",
  DisruptionInProgress: "Normal",
  Draining: "Normal",
  Drained: "Normal",
  NodePoolRemoved: "Normal",
  InsufficientSavings: "Normal",
  VolumePinned: "Normal",
  HostMaintenance: "Normal",
  // drift and orphans
  OrphanVM: "Warning",
  OrphanNode: "Warning",
  OrphanVMKept: "Warning",
  ClaimAdopted: "Normal",
  VMVanished: "Warning",
  NodeDeleted: "Normal",
  // failures of the systems proxscale talks to, and its own state
  VmidRangeExhausted: "Warning",
  IpPoolExhausted: "Warning",
  ProviderError: "Warning",
  HostUnavailable: "Warning",
  HostAvailable: "Normal",
  KubernetesError: "Warning",
  QueueError: "Warning",
  SlowPass: "Warning",
  ConfigInvalid: "Warning",
  Paused: "Normal",
  // node bootstrap (join token Secret, seed ISO)
  BootstrapPrepared: "Normal",
  BootstrapReleased: "Normal",
  BootstrapFailed: "Warning",
  BootstrapTokenExpired: "Normal",
  // templates built from cloud images
  TemplateBuilt: "Normal",
  TemplateNotReady: "Normal",
  TemplateBuildFailed: "Warning",
  TemplateRemoved: "Normal",
  // host power (BMC)
  HostPowerOn: "Normal",
  HostPowerOff: "Normal",
  HostPowerHeld: "Normal",
  HostPowerFailed: "Warning",
} as const satisfies Record<string, ReasonSeverity>;

/** A reason code: one of the closed set in REASON_SEVERITY. */
export type ReasonCode = keyof typeof REASON_SEVERITY;

/** Every reason code, in the order of REASON_SEVERITY. */
export const REASON_CODES: readonly ReasonCode[] = Object.keys(REASON_SEVERITY) as ReasonCode[];

/** A decision's explanation: `code` for machines, `message` for people. */
export type Reason = { code: ReasonCode; message: string };

/** Builds a Reason; exists so call sites read as sentences. */
export function reason(code: ReasonCode, message: string): Reason {
  return { code, message };
}

/** The Event type a reason is recorded as (REASON_SEVERITY). */
export function severityOf(code: ReasonCode): ReasonSeverity {
  return REASON_SEVERITY[code];
}
