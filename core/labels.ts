/** Label, taint and annotation keys proxscale writes or reads, in one place. */
export const NODEPOOL_LABEL_KEY = "proxscale.io/nodepool";
export const HOST_LABEL_KEY = "proxscale.io/host";
export const NODECLAIM_LABEL_KEY = "proxscale.io/nodeclaim";
export const UNREGISTERED_TAINT_KEY = "proxscale.io/unregistered";
export const DISRUPTED_TAINT_KEY = "proxscale.io/disrupted";
export const DO_NOT_DISRUPT_ANNOTATIONS = [
  "proxscale.io/do-not-disrupt",
  "karpenter.sh/do-not-disrupt",
] as const;
