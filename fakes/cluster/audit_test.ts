/** The leak audit finds proxscale's VMs by range, description, name and seed, tagged or not. */
import { deepEqual, equal } from "node:assert/strict";
import { type FakePve, startFakePve } from "../fake_pve/server.ts";
import { auditVms } from "./audit.ts";

const GiB = 1024 ** 3;
const RANGE = { lower: 1000, upper: 1099 };

async function withPve(fn: (pve: FakePve) => void | Promise<void>): Promise<void> {
  const pve = await startFakePve({ hosts: 2 });
  try {
    await fn(pve);
  } finally {
    await pve.close();
  }
}

const claimDescription = (claim: string) =>
  `proxscale.io/nodeclaim=${claim}\nproxscale.io/nodepool=general\nCreated by proxscale.`;

Deno.test("an untagged, unnamed VM inside the managed VMID range is counted", async () => {
  await withPve((pve) => {
    pve.model.addVm({ vmid: 1000, node: "pve2" });
    pve.model.addVm({ vmid: 1099, node: "pve1", config: { tags: "other" } });
    const a = auditVms(pve, { vmidRange: RANGE });
    deepEqual(a.vms.map((v) => [v.vmid, v.host, v.name, v.tags, v.marks]), [
      [1000, "pve2", undefined, [], ["range"]],
      [1099, "pve1", undefined, ["other"], ["range"]],
    ]);
    deepEqual(a.duplicates, []);
  });
});

Deno.test("a VM outside the range without proxscale's name is not counted, and templates never are", async () => {
  await withPve((pve) => {
    pve.model.addVm({ vmid: 500, node: "pve1", name: "db-1", config: { tags: "proxscale" } });
    pve.model.addVm({ vmid: 1001, node: "pve1", name: "tpl", template: true });
    // The per-host cloud-image templates (9000, 9001) sit outside the range as well.
    deepEqual(auditVms(pve, { vmidRange: RANGE, namePrefix: "ps-" }).vms, []);
  });
});

Deno.test("VMs outside the range are counted by their claim description, name prefix or seed ISO", async () => {
  await withPve((pve) => {
    pve.model.addVm({
      vmid: 200,
      node: "pve1",
      name: "general-a1",
      description: claimDescription("general-a1"),
    });
    pve.model.addVm({ vmid: 201, node: "pve2", name: "ps-general-b2" });
    pve.model.addVm({
      vmid: 202,
      node: "pve2",
      config: { ide3: "local:iso/proxscale-cidata-general-c3.iso,media=cdrom" },
      disks: [{ key: "scsi0", storage: "local-lvm", size: GiB }],
    });
    const a = auditVms(pve, { vmidRange: RANGE, namePrefix: "ps-" });
    deepEqual(a.vms.map((v) => [v.vmid, v.claim, v.marks]), [
      [200, "general-a1", ["description"]],
      [201, "ps-general-b2", ["name"]],
      [202, "general-c3", ["seed"]],
    ]);
  });
});

Deno.test("two VMs naming the same claim are reported as a duplicate, whichever host they are on", async () => {
  await withPve((pve) => {
    pve.model.addVm({ vmid: 1005, node: "pve1", description: claimDescription("general-x") });
    pve.model.addVm({ vmid: 1007, node: "pve2", description: claimDescription("general-x") });
    pve.model.addVm({ vmid: 1008, node: "pve2", description: claimDescription("general-y") });
    pve.model.setHostOnline("pve2", false);
    const a = auditVms(pve, { vmidRange: RANGE });
    equal(a.vms.length, 3);
    deepEqual(a.duplicates, [{ claim: "general-x", vmids: [1005, 1007] }]);
  });
});
