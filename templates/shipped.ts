/**
 * templates/: the bootstrap templates proxscale ships, as TS strings so bundles and compiled
 * binaries carry them. May be imported by adapters/bootstrap and cli/.
 */
import { K3S_TEMPLATE } from "./k3s.ts";
import { KUBEADM_TEMPLATE } from "./kubeadm.ts";
import { TALOS_TEMPLATE } from "./talos.ts";

/** Names a MachineTemplate's `bootstrap.template` may take. */
export type ShippedTemplateName = "kubeadm" | "k3s" | "talos";

/** Template text by name. */
export const SHIPPED_TEMPLATES: Readonly<Record<ShippedTemplateName, string>> = {
  kubeadm: KUBEADM_TEMPLATE,
  k3s: K3S_TEMPLATE,
  talos: TALOS_TEMPLATE,
};
