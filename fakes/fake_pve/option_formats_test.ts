/**
 * Tests of option_formats.ts: the fake refuses the VM option values PVE refuses, with PVE's
 * texts, and a config write over HTTP answers 400 "Parameter verification failed." with one
 * entry per bad key while good values are stored as sent.
 *
 * May import: this folder (the fake PVE and its test client).
 */
import assert from "node:assert/strict";
import {
  checkAgent,
  checkCpu,
  checkDriveOptions,
  checkMachine,
  checkNicOptions,
  checkStartup,
} from "./option_formats.ts";
import { startFakePve } from "./server.ts";
import { request } from "./testing/client.ts";

Deno.test("cpu: a built-in or known custom model with VM-allowed flags passes; the rest is refused", () => {
  assert.equal(checkCpu("host"), undefined);
  assert.equal(checkCpu("cputype=x86-64-v2-AES,flags=+aes;-pcid"), undefined);
  assert.equal(checkCpu("custom-lite", new Set(["lite"])), undefined);
  assert.equal(
    checkCpu("pentium9"),
    "invalid format - Built-in cputype 'pentium9' is not defined (missing 'custom-' prefix?)\n",
  );
  assert.equal(checkCpu("custom-lite"), "invalid format - Custom cputype 'lite' not found\n");
  assert.match(checkCpu("host,flags=+avx512f")!, /VM-specific CPU flags must be a subset of: pcid/);
  assert.match(checkCpu("host,flags=aes")!, /cpu\.flags: value does not match the regex pattern/);
  assert.match(checkCpu("host,speed=9")!, /cpu\.speed: property is not defined in schema/);
  assert.match(checkCpu("host,reported-model=EPYC")!, /'reported-model' not allowed/);
  assert.equal(checkCpu("flags=+aes"), "invalid format - CPU is missing cputype\n");
});

Deno.test("machine, agent and startup follow their property-string formats", () => {
  for (const ok of ["q35", "pc", "pc-q35-8.1", "pc-i440fx-9.0+pve0", "type=q35,viommu=intel"]) {
    assert.equal(checkMachine(ok), undefined, ok);
  }
  assert.match(checkMachine("q36")!, /machine\.type: value does not match the regex pattern/);
  assert.equal(checkAgent("1,fstrim_cloned_disks=1,type=virtio"), undefined);
  assert.equal(checkAgent("enabled=0"), undefined);
  assert.match(checkAgent("1,type=serial")!, /agent\.type: value 'serial' does not have a value/);
  assert.match(checkAgent("maybe")!, /agent\.enabled: type check \('boolean'\) failed/);
  assert.equal(checkStartup("order=3,up=30,down=60"), undefined);
  assert.equal(checkStartup("4"), undefined);
  assert.equal(
    checkStartup("order=-1"),
    "invalid format - value does not look like a valid startup order\n",
  );
  assert.ok(checkStartup("first=1"));
});

Deno.test("NIC options: queues 0..64, mtu 1..65520, tag 1..4094, firewall boolean, nothing unknown", () => {
  const nic = (text: string) =>
    checkNicOptions(text.split(",").map((kv) => kv.split("=") as [string, string]));
  assert.equal(nic("bridge=vmbr0,queues=4,mtu=9000,tag=20,firewall=1"), undefined);
  assert.equal(
    nic("bridge=vmbr0,queues=65"),
    "invalid format - format error\nnet.queues: value must have a maximum value of 64\n",
  );
  assert.match(
    nic("bridge=vmbr0,mtu=70000")!,
    /net\.mtu: value must have a maximum value of 65520/,
  );
  assert.match(nic("bridge=vmbr0,tag=0")!, /net\.tag: value must have a minimum value of 1/);
  assert.match(nic("bridge=vmbr0,firewall=maybe")!, /net\.firewall: type check/);
  assert.match(nic("bridge=vmbr0,speed=10")!, /net\.speed: property is not defined/);
});

Deno.test("disk options: cache and discard enums, ssd not on virtio, iothread only on scsi/virtio, EFI disk format", () => {
  const opts = (text: string) => text.split(",").map((kv) => kv.split("=") as [string, string]);
  assert.equal(
    checkDriveOptions("scsi1", opts("cache=none,discard=on,iothread=1,ssd=1,serial=X")),
    undefined,
  );
  assert.match(
    checkDriveOptions("scsi1", opts("cache=fast"))!,
    /scsi\.cache: value 'fast' does not have a value in the enumeration 'none, writethrough/,
  );
  assert.match(checkDriveOptions("scsi1", opts("discard=off"))!, /scsi\.discard: /);
  assert.match(
    checkDriveOptions("virtio1", opts("ssd=1"))!,
    /virtio\.ssd: property is not defined/,
  );
  assert.match(checkDriveOptions("sata1", opts("iothread=1"))!, /sata\.iothread: property is not/);
  assert.equal(checkDriveOptions("efidisk0", opts("efitype=4m,pre-enrolled-keys=0")), undefined);
  assert.match(checkDriveOptions("efidisk0", opts("efitype=8m"))!, /efidisk\.efitype: /);
  assert.match(checkDriveOptions("efidisk0", opts("cache=none"))!, /efidisk\.cache: property is/);
});

Deno.test("a config write with bad option values is a 400 naming each key; good values are stored as sent", async () => {
  const pve = await startFakePve({ seed: 3 });
  const headers = { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` };
  const put = (params: Record<string, string>) =>
    request(pve.url, pve.caPem, "PUT", "/api2/json/nodes/pve1/qemu/9000/config", {
      headers,
      body: new URLSearchParams(params).toString(),
    });
  try {
    const bad = await put({
      cpu: "host,flags=+avx512f",
      machine: "q36",
      net0: "virtio,bridge=vmbr0,queues=99",
      startup: "order=x",
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.reason, "Parameter verification failed.");
    const errors = (bad.json as { errors: Record<string, string> }).errors;
    assert.deepEqual(Object.keys(errors).sort(), ["cpu", "machine", "net0", "startup"]);
    assert.match(errors.net0!, /net\.queues: value must have a maximum value of 64/);

    const good = {
      cpu: "x86-64-v2-AES,flags=+aes",
      machine: "q35",
      agent: "1,fstrim_cloned_disks=1",
      startup: "order=3,up=30",
      numa: "1",
    };
    const ok = await put(good);
    assert.equal(ok.status, 200, ok.text);
    const got = await request(pve.url, pve.caPem, "GET", "/api2/json/nodes/pve1/qemu/9000/config", {
      headers,
    });
    const data = (got.json as { data: Record<string, unknown> }).data;
    assert.equal(data.cpu, good.cpu);
    assert.equal(data.machine, good.machine);
    assert.equal(data.agent, good.agent);
    assert.equal(data.startup, good.startup);
    assert.equal(data.numa, 1);
  } finally {
    await pve.close();
  }
});
