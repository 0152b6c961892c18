/**
 * Every decision carries a Reason: a stable `code` (metric label, Event reason, condition
 * reason) and a `message` in plain words with the numbers that led to it. The same value is
 * written to the log line, the Kubernetes Event, the NodeClaim condition and the trace span.
 */
export type ReasonCode =
  // provisioning
  | "PodsPending"
  | "FitsExistingCapacity"
  | "FitsInFlightClaim"
  | "NoCompatiblePool"
  | "PoolLimitReached"
  | "NoShapeFits"
  | "HostCapacityExhausted"
  | "BatchSizeReached"
  | "MaxConcurrentReached"
  | "StabilizationWindow"
  | "PodNotManaged"
  | "PodAlreadyBound"
  | "DaemonSetPod"
  | "PodNotUnschedulable"
  | "PodUnschedulableAnywhere"
  | "MinNodes"
  | "ResourceNotOffered"
  | "VolumeNotBound"
  | "HostPortConflict"
  | "PlannedHostUnavailable"
  // lifecycle
  | "Launched"
  | "Registered"
  | "Initialized"
  | "Ready"
  | "LaunchTimeout"
  | "RegistrationTimeout"
  | "NodeNotReady"
  | "RepairPaused"
  | "LaunchFailed"
  | "LaunchFailing"
  | "LaunchBackoff"
  | "ClaimRateLimited"
  | "Finalizing"
  // disruption
  | "Empty"
  | "Underutilized"
  | "Drifted"
  | "Expired"
  | "BudgetExhausted"
  | "DoNotDisrupt"
  | "PdbBlocked"
  | "DrainTimeout"
  | "Unconsolidatable"
  | "PodNotEvictable"
  | "DisruptionInProgress"
  | "Draining"
  | "Drained"
  | "NodePoolRemoved"
  | "InsufficientSavings"
  | "VolumePinned"
  // drift and orphans
  | "OrphanVM"
  | "OrphanNode"
  | "VMVanished"
  // everything else an adapter or controller may report
  | "VmidRangeExhausted"
  | "ProviderError"
  | "HostUnavailable"
  | "HostAvailable"
  | "KubernetesError"
  | "ConfigInvalid"
  | "Paused"
  // node bootstrap (join token Secret, seed ISO)
  | "BootstrapPrepared"
  | "BootstrapReleased"
  | "BootstrapFailed"
  | "BootstrapTokenExpired";

/** A decision's explanation: `code` for machines, `message` for people. */
export type Reason = { code: ReasonCode; message: string };

/** Builds a Reason; exists so call sites read as sentences. */
export function reason(code: ReasonCode, message: string): Reason {
  return { code, message };
}
