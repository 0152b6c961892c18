import assert from "node:assert/strict";
import { GiB, MiB } from "../../core/quantity.ts";
import { claim, provider, template } from "./testing/fixtures.ts";
import {
  claimCreatedFromDescription,
  claimDescription,
  claimFromDescription,
  configChanges,
  createParams,
  desiredConfig,
  diskSizeGiB,
  encodeSshKeys,
  hasTag,
  newDiskValue,
  templateHashFromDescription,
  vmFootprint,
  vmName,
  vmTags,
} from "./vm_config.ts";

Deno.test("the claim identity round-trips through the description, by exact line", () => {
  assert.equal(claimFromDescription(claimDescription(claim)), "general-x7k2p");
  assert.equal(claimFromDescription("note: proxscale.io/nodeclaim=a b"), undefined);
  assert.equal(claimFromDescription(undefined), undefined);
});

Deno.test("tags are compared exactly after splitting, never by substring", () => {
  assert.ok(hasTag("alpha;Proxscale", "proxscale"));
  assert.ok(!hasTag("proxscale-template", "proxscale"));
  assert.ok(!hasTag("", "proxscale"));
  assert.equal(vmTags("proxscale", ["K8s", "pool-a", "bad=tag"]), "k8s;pool-a;proxscale");
});

Deno.test("VM memory is the shape's memory; the overhead counts only on the host", () => {
  const d = desiredConfig(claim, template, provider);
  assert.equal(d.scalars.memory, 4096);
  assert.equal(d.scalars.cores, 2);
  assert.deepEqual(vmFootprint(template, claim.shape), { cpu: 2000, memory: 4 * GiB + 256 * MiB });
});

Deno.test("disk values come from the template, sizes in GiB without a unit", () => {
  assert.equal(diskSizeGiB(16 * GiB), "16");
  assert.equal(diskSizeGiB(1.5 * GiB), "1.5");
  assert.equal(
    newDiskValue({
      slot: "scsi1",
      storage: "ceph",
      size: 8 * GiB,
      iothread: true,
      cache: "none",
      serial: "S1",
    }),
    "ceph:8,iothread=1,serial=S1,cache=none",
  );
});

Deno.test("sshkeys are percent-encoded once, spaces as %20, before form encoding", () => {
  const enc = encodeSshKeys(["ssh-ed25519 AAAA+/= me@host"]);
  assert.equal(enc, "ssh-ed25519%20AAAA%2B%2F%3D%20me%40host%0A");
  assert.match(enc, /^[-%a-zA-Z0-9_.!~*'()]*$/);
});

Deno.test("create parameters carry raw options, shape, disks, NIC, cloud-init, tags and pool", () => {
  const p = createParams(1000, desiredConfig(claim, template, provider), {
    ostype: "l26",
    boot: "order=net0",
  }, "k8s");
  assert.equal(p.vmid, 1000);
  assert.equal(p.boot, "order=net0");
  assert.equal(p.scsi1, "local-lvm:16,discard=on,ssd=1,serial=CONTAINERD01");
  assert.equal(p.net0, "virtio,bridge=vmbr0,tag=20");
  assert.equal(p.ipconfig0, "ip=dhcp");
  assert.equal(p.ide2, "local-lvm:cloudinit");
  assert.equal(p.cicustom, "user=local:snippets/join.yaml");
  assert.equal(p.tags, "k8s;pool-a;proxscale");
  assert.equal(p.pool, "k8s");
  assert.equal(p.name, "general-x7k2p");
});

Deno.test("an ISO passed by the caller is attached as a cdrom", () => {
  const d = desiredConfig(claim, { ...template, bootstrap: { mode: "nocloudIso" } }, provider, {
    isoVolume: "local:iso/general-x7k2p.iso",
  });
  assert.deepEqual(d.cdrom?.value, "local:iso/general-x7k2p.iso,media=cdrom");
});

Deno.test("a converged config needs no change; a stored (canonical) config is recognised", () => {
  const desired = desiredConfig(claim, template, provider);
  const stored: Record<string, unknown> = {
    ...desired.scalars,
    memory: "4096",
    tags: "k8s;pool-a;proxscale",
    scsi1: "local-lvm:vm-1000-disk-0,discard=on,serial=CONTAINERD01,size=16G,ssd=1",
    net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20",
    ide2: "local-lvm:vm-1000-cloudinit,media=cdrom",
    digest: "x",
  };
  assert.deepEqual(configChanges(desired, stored), { set: {}, resize: [] });
  const smaller = {
    ...stored,
    scsi1: "local-lvm:vm-1000-disk-0,discard=on,serial=CONTAINERD01,size=8G,ssd=1",
    cores: 1,
  };
  const ch = configChanges(desired, smaller);
  assert.deepEqual(ch.resize, [{ disk: "scsi1", size: "16G" }]);
  assert.deepEqual(ch.set, { cores: 2 });
  const wrongVlan = configChanges(desired, {
    ...stored,
    net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=30",
  });
  assert.equal(wrongVlan.set.net0, "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20", "keeps the MAC");
});

Deno.test("VM names are DNS names derived from the claim", () => {
  assert.equal(vmName("general-x7k2p"), "general-x7k2p");
  assert.equal(vmName("Pool_A--x"), "pool-a--x");
});

Deno.test("the description records the claim's template hash, read back exactly", () => {
  const c = { ...claim, templateHash: "v1-12345678" };
  const { templateHash: _h, ...withoutHash } = claim;
  const d = claimDescription(c);
  assert.equal(templateHashFromDescription(d), "v1-12345678");
  assert.equal(claimFromDescription(d), claim.name);
  assert.equal(
    templateHashFromDescription(claimDescription(withoutHash)),
    undefined,
  );
});

Deno.test("the description records the claim's creation time to the millisecond; a claim without one records none", () => {
  const createdAt = Date.parse("2026-10-01T08:30:15.250Z");
  const d = claimDescription({ ...claim, createdAt });
  assert.match(d, /^proxscale\.io\/claim-created=2026-10-01T08:30:15\.250Z$/m);
  assert.equal(claimCreatedFromDescription(d), createdAt);
  assert.equal(
    claimCreatedFromDescription(claimDescription({ ...claim, createdAt: 0 })),
    undefined,
  );
  assert.equal(
    claimCreatedFromDescription("proxscale.io/nodeclaim=a\nproxscale.io/claim-created=soon"),
    undefined,
    "an unreadable time is no time",
  );
});
