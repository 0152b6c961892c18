/**
 * The one-line summary of every subcommand, written once: `proxscale --help` lists them (in
 * main.ts's order) and each command's own `--help` prints its line from here.
 *
 * May import: nothing of the project.
 */

/** Subcommand name -> what it does, in a phrase without a final period. */
export const COMMAND_SUMMARIES = {
  validate: "check a configuration file; errors name file:line:column",
  plan: "show which VMs proxscale would launch for a cluster snapshot",
  migrate: "write CRD manifests from a YAML config (proxscale or KubeNodeSmith v0)",
  bootstrap: "preview the bootstrap data (user-data, meta-data, network-config, ISO) of a pool",
  "fake-pve": "run a fake Proxmox VE 8 API server (HTTPS) for tests and demos",
  "fake-redfish":
    "run a fake Redfish BMC service (HTTPS) with bare-metal systems for tests and demos",
  "fake-kube": "run a fake Kubernetes API server (v1.32 subset) and write a kubeconfig for it",
  "fake-cluster":
    "run a fake Kubernetes-on-Proxmox cluster (API server, PVE, scheduler, controllers, kubelets)",
  sim: "replay a workload trace through proxscale and baseline autoscalers; plan capacity",
  record: "record a live cluster's pods as a proxscale trace for 'proxscale sim'",
  manifests: "print the Kubernetes manifests (RBAC, Deployment, PDB, Service, NetworkPolicy)",
  run: "run the autoscaler daemon (observe, decide, act); --pause to only decide",
  demo: "watch proxscale scale a simulated Proxmox cluster (fake PVE + fake Kubernetes)",
  status: "show pools, NodeClaims, jobs and the last decisions of a running proxscale",
  diagnose:
    "check PVE reachability and token rights, templates, storages, VMIDs, Redfish BMCs and Kubernetes RBAC",
  pause: "maintenance mode: proxscale decides and reports but does not act",
  resume: "leave maintenance mode",
  host: "Proxmox host maintenance: list, cordon, uncordon, drain (--wait) a host",
  pool: "NodePool commands: list, scale-min, pause, resume a pool",
} as const;

/** The name of a subcommand. */
export type CommandName = keyof typeof COMMAND_SUMMARIES;
