import assert from "node:assert/strict";
import { imageStorages } from "./template_hosts.ts";

Deno.test("a template's image storages leave out cloud-init drives and CD-ROMs", () => {
  assert.deepEqual(
    imageStorages({
      scsi0: "local-lvm:base-9000-disk-0,discard=on,size=32G",
      efidisk0: "ceph:base-9000-disk-1,size=4M",
      ide2: "local-lvm:vm-9000-cloudinit,media=cdrom",
      ide3: "local:iso/seed.iso,media=cdrom",
      sata0: "none,media=cdrom",
      net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0",
    }),
    ["ceph", "local-lvm"],
  );
});
