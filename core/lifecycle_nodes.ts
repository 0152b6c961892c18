/**
 * The Node side of a NodeClaim: which Node belongs to it (by providerID
 * `proxmox://<provider>/<vmid>`, else by the recorded node name or the nodeclaim label), what
 * registration must write on it (labels, taints, startup taints, minus the unregistered
 * taint), and whether it is initialized (Ready, no startup or start-up-only taints left).
 *
 * May import: core/ only.
 */
import type { MachineTemplate, Node, NodeClaim, NodePool, Taint, VM } from "./model.ts";
import { NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY, UNREGISTERED_TAINT_KEY } from "./labels.ts";
import { EPHEMERAL_TAINT_KEYS, taintText } from "./taints.ts";

/** Label registration writes, so a re-read Node shows it was synced (Karpenter's registered). */
export const REGISTERED_LABEL_KEY = "proxscale.io/registered";
/** Label written once the node is initialized (Karpenter's initialized). */
export const INITIALIZED_LABEL_KEY = "proxscale.io/initialized";

/** `proxmox://<provider>/<vmid>`: how a Node names the VM it runs on. */
export function providerIdFor(provider: string, vmid: number): string {
  return `proxmox://${provider}/${vmid}`;
}

/** The provider a proxscale providerID names: proxmox://<provider>/<vmid> or redfish://<provider>/<uuid>. */
export function providerOfId(id: string | undefined): string | undefined {
  return /^(?:proxmox|redfish):\/\/([^/]+)\/[^/]+$/.exec(id ?? "")?.[1];
}

/** The provider and vmid of a proxmox:// providerID, if it is one. */
export function parseProviderId(
  id: string | undefined,
): { provider: string; vmid: number } | undefined {
  const m = /^proxmox:\/\/([^/]+)\/(\d+)$/.exec(id ?? "");
  return m ? { provider: m[1]!, vmid: Number(m[2]) } : undefined;
}

/** The providerID a claim's Node must carry, when the VM is known. */
export function expectedProviderId(claim: NodeClaim, vm: VM | undefined): string | undefined {
  if (vm) return vm.providerID ?? providerIdFor(vm.provider, vm.vmid);
  if (claim.providerID) return claim.providerID;
  return claim.vmid !== undefined ? providerIdFor(claim.provider, claim.vmid) : undefined;
}

/** Nodes indexed once per pass, so matching 1,000 claims stays linear. */
export class NodeIndex {
  readonly #byProviderId = new Map<string, Node[]>();
  readonly #byName = new Map<string, Node>();
  readonly #byClaimLabel = new Map<string, Node[]>();

  constructor(nodes: readonly Node[]) {
    for (const n of nodes) {
      this.#byName.set(n.name, n);
      if (n.providerID) push(this.#byProviderId, n.providerID, n);
      const claim = n.labels[NODECLAIM_LABEL_KEY];
      if (claim) push(this.#byClaimLabel, claim, n);
    }
  }

  /**
   * The Nodes of a claim: by providerID when one is expected; without a providerID match, the
   * node named in the claim's status or labelled with its name, if that node has no
   * providerID. More than one result is a conflict the caller reports.
   */
  forClaim(claim: NodeClaim, vm: VM | undefined): Node[] {
    const pid = expectedProviderId(claim, vm);
    const byId = pid ? this.#byProviderId.get(pid) ?? [] : [];
    if (byId.length > 0) return byId;
    // A node found by name or label is taken only while it has no providerID yet: one with
    // another providerID runs on another VM.
    const loose = (n: Node | undefined) => n !== undefined && n.providerID === undefined;
    const named = claim.nodeName ? this.#byName.get(claim.nodeName) : undefined;
    if (loose(named)) return [named!];
    return (this.#byClaimLabel.get(claim.name) ?? []).filter(loose);
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** Taints without duplicates (same key and effect), first occurrence kept. */
export function uniqueTaints(...lists: readonly (readonly Taint[] | undefined)[]): Taint[] {
  const seen = new Set<string>();
  const out: Taint[] = [];
  for (const list of lists) {
    for (const t of list ?? []) {
      const k = `${t.key}:${t.effect}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push(t);
      }
    }
  }
  return out;
}

/** What registration writes on the Node. */
export type RegistrationSync = {
  labels: Record<string, string>;
  /** Taints then startup taints, from the claim, its NodePool and its MachineTemplate. */
  taints: Taint[];
  startupTaints: Taint[];
  /** Taint keys registration removes (the unregistered taint). */
  removeTaintKeys: string[];
};

/** Labels, taints and startup taints the claim's Node must get at registration. */
export function registrationSync(
  claim: NodeClaim,
  pool: NodePool | undefined,
  template: MachineTemplate | undefined,
): RegistrationSync {
  return {
    labels: {
      ...template?.labels,
      ...pool?.labels,
      ...claim.labels,
      [NODEPOOL_LABEL_KEY]: claim.nodePool,
      [NODECLAIM_LABEL_KEY]: claim.name,
      [REGISTERED_LABEL_KEY]: "true",
    },
    taints: uniqueTaints(claim.taints, pool?.taints, template?.taints),
    startupTaints: uniqueTaints(claim.startupTaints, pool?.startupTaints, template?.startupTaints),
    removeTaintKeys: [UNREGISTERED_TAINT_KEY],
  };
}

const hasTaint = (node: Node, t: Taint) =>
  (node.taints ?? []).some((x) => x.key === t.key && x.effect === t.effect);

/**
 * Has registration's write landed? Labels and taints present and the unregistered taint gone.
 * Startup taints are not checked: a DaemonSet may already have removed them, and they were
 * written in the same patch that removed the unregistered taint.
 */
export function isSynced(node: Node, sync: RegistrationSync): string | undefined {
  for (const [k, v] of Object.entries(sync.labels)) {
    if (node.labels[k] !== v) return `label ${k}=${v} missing`;
  }
  for (const t of sync.taints) if (!hasTaint(node, t)) return `taint ${taintText(t)} missing`;
  const left = (node.taints ?? []).find((t) => sync.removeTaintKeys.includes(t.key));
  return left ? `taint ${taintText(left)} still present` : undefined;
}

/** Why a registered node is not initialized yet, or undefined when it is. */
export function notInitializedBecause(
  node: Node,
  startupTaints: readonly Taint[],
): string | undefined {
  if (!node.ready) return `node ${node.name} is not Ready`;
  const startup = (node.taints ?? []).filter((t) => startupTaints.some((s) => s.key === t.key));
  if (startup.length > 0) {
    return `startup taints still present: ${startup.map(taintText).join(", ")}`;
  }
  const ephemeral = (node.taints ?? []).filter((t) =>
    EPHEMERAL_TAINT_KEYS.has(t.key) || t.key.startsWith("readiness.k8s.io/")
  );
  if (ephemeral.length > 0) {
    return `start-up taints still present: ${ephemeral.map(taintText).join(", ")}`;
  }
  return undefined;
}
