import assert from "node:assert/strict";
import {
  cdromValue,
  EMPTY_CDROM,
  isoVolid,
  isoVolumeName,
  locallyAdministeredMac,
} from "./identity.ts";
import { providerIdFor } from "../../core/lifecycle_nodes.ts";
import { isKubeletSettableLabel, splitNodeLabels } from "./kubelet_labels.ts";

Deno.test("the ISO volume name comes from the claim name only and survives PVE's renaming", () => {
  assert.equal(isoVolumeName("general-7f3k2"), "proxscale-cidata-general-7f3k2.iso");
  assert.match(isoVolumeName("general-7f3k2"), /^[A-Za-z0-9_.-]+\.iso$/);
  assert.equal(isoVolumeName("a b/c"), "proxscale-cidata-a_b_c.iso");
  assert.equal(isoVolid("local", "general-7f3k2"), "local:iso/proxscale-cidata-general-7f3k2.iso");
  assert.equal(
    cdromValue("local", "general-7f3k2"),
    "local:iso/proxscale-cidata-general-7f3k2.iso,media=cdrom",
  );
  assert.equal(EMPTY_CDROM, "none,media=cdrom");
});

Deno.test("providerID and MACs are fixed by provider, VMID and NIC index", () => {
  assert.equal(providerIdFor("pve-a", 1234), "proxmox://pve-a/1234");
  assert.equal(locallyAdministeredMac(1234, 0), "02:00:00:04:d2:00");
  assert.equal(locallyAdministeredMac(999_999_999, 3), "02:3b:9a:c9:ff:03");
  const first = parseInt(locallyAdministeredMac(9000, 1).slice(0, 2), 16);
  assert.equal(first & 1, 0, "unicast");
  assert.equal(first & 2, 2, "locally administered");
  assert.throws(() => locallyAdministeredMac(2 ** 32, 0));
  assert.throws(() => locallyAdministeredMac(100, 256));
});

Deno.test("kubelets may set only their own kinds of kubernetes.io labels", () => {
  for (
    const k of [
      "proxscale.io/nodepool",
      "example.com/x",
      "plain",
      "node.kubernetes.io/instance-type",
      "topology.kubernetes.io/zone",
      "kubernetes.io/arch",
      "foo.node.kubernetes.io/bar",
      "kubelet.kubernetes.io/x",
    ]
  ) assert.ok(isKubeletSettableLabel(k), k);
  for (
    const k of [
      "node-role.kubernetes.io/worker",
      "node-restriction.kubernetes.io/pool",
      "a.node-restriction.kubernetes.io/x",
      "kubernetes.io/foo",
      "k8s.io/anything",
      "sub.k8s.io/x",
    ]
  ) assert.ok(!isKubeletSettableLabel(k), k);
  assert.deepEqual(
    splitNodeLabels({ "node-role.kubernetes.io/worker": "", "proxscale.io/nodepool": "g" }),
    {
      selfSet: { "proxscale.io/nodepool": "g" },
      restricted: { "node-role.kubernetes.io/worker": "" },
    },
  );
});
