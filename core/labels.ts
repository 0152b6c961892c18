/** Label, taint and annotation keys proxscale writes or reads, in one place. */
export const NODEPOOL_LABEL_KEY = "proxscale.io/nodepool";
export const HOST_LABEL_KEY = "proxscale.io/host";
/** The capacity type (host class) of the host a node's VM runs on: reserved, standard, ... */
export const CAPACITY_TYPE_LABEL_KEY = "proxscale.io/capacity-type";
export const NODECLAIM_LABEL_KEY = "proxscale.io/nodeclaim";
export const UNREGISTERED_TAINT_KEY = "proxscale.io/unregistered";
export const DISRUPTED_TAINT_KEY = "proxscale.io/disrupted";
/** Label and NoSchedule taint (value: the owning tenant) of a tenant's private pools' nodes. */
export const TENANT_LABEL_KEY = "proxscale.io/tenant";
/** Label and NoSchedule taint (value: the owning tenant) of a tenant's shared pools' nodes. */
export const TENANT_SHARED_LABEL_KEY = "proxscale.io/tenant-shared";
export const DO_NOT_DISRUPT_ANNOTATIONS = [
  "proxscale.io/do-not-disrupt",
  "karpenter.sh/do-not-disrupt",
] as const;
