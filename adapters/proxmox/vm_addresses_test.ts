/**
 * Tests of vm_addresses.ts over an in-memory PVE client stub: static addresses come from every
 * VM's ipconfigN, configs are cached per VM until they expire, a new VMID is read at once, and
 * a failed read fails the answer.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { err, ok, type Result } from "../../core/result.ts";
import type { PveClient } from "./client.ts";
import { localError, type PveError } from "./errors.ts";
import type { ResourceVm, VmConfig } from "./schemas.ts";
import { configAddresses, VmAddressReader } from "./vm_addresses.ts";

const vm = (vmid: number, extra: Partial<ResourceVm> = {}): ResourceVm => ({
  type: "qemu",
  vmid,
  node: "pve1",
  ...extra,
});

function stub(vms: ResourceVm[], configs: Record<number, Result<VmConfig, PveError>>) {
  const asked: number[] = [];
  const client = {
    resourcesVm: () => Promise.resolve(ok(vms)),
    hostTripped: () => false,
    vmConfig: (_h: string, id: number) => {
      asked.push(id);
      return Promise.resolve(configs[id] ?? err(localError("notFound", "GET /x", "gone")));
    },
  };
  return { client: client as unknown as PveClient, asked };
}

Deno.test("a VM config's static ipconfigN addresses are read; dhcp and IPv6 give none", () => {
  assert.deepEqual(
    configAddresses({
      digest: "d",
      ipconfig0: "ip=10.0.20.7/24,gw=10.0.20.1",
      ipconfig1: "ip=dhcp",
      ipconfig2: "gw=10.0.30.1,ip=10.0.30.9/24",
      ipconfig3: "ip6=fd00::5/64",
      net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0",
    }),
    ["10.0.20.7", "10.0.30.9"],
  );
});

Deno.test("every VM's addresses count, templates and containers aside, cached until they expire", async () => {
  const { client, asked } = stub(
    [vm(100), vm(101), vm(102, { template: true }), vm(103, { type: "lxc" })],
    {
      100: ok({ digest: "a", ipconfig0: "ip=10.0.20.5/24" }),
      101: ok({ digest: "b", ipconfig0: "ip=10.0.20.3/24", description: "ours" }),
    },
  );
  let now = 0;
  const r = new VmAddressReader(client, () => now, 1000);
  assert.deepEqual(await r.addresses(), ok(["10.0.20.3", "10.0.20.5"]));
  assert.deepEqual(asked, [100, 101]);
  now = 500;
  await r.addresses();
  assert.deepEqual(asked, [100, 101], "cached");
  now = 1500;
  await r.addresses();
  assert.deepEqual(asked, [100, 101, 100, 101], "expired");
});

Deno.test("a new VMID is read at once and a failed config read fails the answer", async () => {
  const vms = [vm(100)];
  const configs: Record<number, Result<VmConfig, PveError>> = {
    100: ok({ digest: "a", ipconfig0: "ip=10.0.20.5/24" }),
  };
  const { client } = stub(vms, configs);
  const r = new VmAddressReader(client, () => 0, 60_000);
  await r.addresses();
  vms.push(vm(104));
  configs[104] = ok({ digest: "c", ipconfig0: "ip=10.0.20.9/24" });
  assert.deepEqual(await r.addresses(), ok(["10.0.20.5", "10.0.20.9"]));
  vms.push(vm(105));
  configs[105] = err(localError("permission", "GET /x", "no VM.Audit"));
  const failed = await r.addresses();
  assert.ok(!failed.ok);
  assert.equal(failed.error.step, "read config of VM 105");
});
