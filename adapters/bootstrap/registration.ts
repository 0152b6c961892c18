/**
 * The other half of bootstrap, after the kubelet registered: what proxscale itself writes on
 * the Node. The kubelet could set only self-settable labels and
 * register-time taints; proxscale adds the restricted labels (node-role.kubernetes.io/...),
 * makes sure the template's and pool's taints are there, sets providerID if the image left it
 * empty, and lifts `proxscale.io/unregistered` last. A Node whose name or providerID does not
 * match its NodeClaim keeps the taint: that means a stolen or misrouted token.
 */
import type { MachineTemplate, Node, NodePool, Taint } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { providerIdFor } from "../../core/lifecycle_nodes.ts";
import { type ClaimIdentity, nodeLabels, UNREGISTERED_TAINT } from "./render.ts";

/** The writes to one Node; `undefined` fields need no change. */
export type RegistrationPatch = {
  /** Labels to set (only those missing or different). */
  labels: Record<string, string>;
  /** The whole new spec.taints list, when it changes. */
  taints?: Taint[];
  /** spec.providerID, when the Node has none yet (it is immutable once set). */
  providerID?: string;
};

/** The Node is not the one this NodeClaim launched. */
export type RegistrationMismatch = { kind: "RegistrationMismatch"; message: string };

/** Computes the post-registration patch for a Node that registered for `claim`. */
export function registrationPatch(
  node: Node,
  template: MachineTemplate,
  pool: NodePool,
  claim: Omit<ClaimIdentity, "macs">,
): Result<RegistrationPatch, RegistrationMismatch> {
  const want = claim.providerID ?? providerIdFor(claim.provider, claim.vmid);
  if (node.name !== claim.name) {
    return err({
      kind: "RegistrationMismatch",
      message: `Node "${node.name}" registered for NodeClaim "${claim.name}" under another name`,
    });
  }
  if (node.providerID && node.providerID !== want) {
    return err({
      kind: "RegistrationMismatch",
      message:
        `Node "${node.name}" has providerID ${node.providerID}, NodeClaim "${claim.name}" expects ${want}`,
    });
  }
  const labels: Record<string, string> = {};
  const desired = nodeLabels(
    template,
    pool,
    { ...claim, macs: {} },
    claim.shape ?? template.shapes[0],
  );
  for (const [k, v] of Object.entries(desired)) if (node.labels[k] !== v) labels[k] = v;

  const current = node.taints ?? [];
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
  const next = current.filter((t) => !same(t, UNREGISTERED_TAINT));
  for (const t of [...template.taints, ...pool.taints]) {
    const at = next.findIndex((n) => same(n, t));
    if (at < 0) next.push(t);
    else if ((next[at]!.value ?? "") !== (t.value ?? "")) next[at] = t;
  }
  const changed = next.length !== current.length ||
    next.some((t, i) => !same(t, current[i]!) || (t.value ?? "") !== (current[i]!.value ?? ""));
  return ok({
    labels,
    ...(changed ? { taints: next } : {}),
    ...(node.providerID ? {} : { providerID: want }),
  });
}
