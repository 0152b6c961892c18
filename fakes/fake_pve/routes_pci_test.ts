import assert from "node:assert/strict";
import { type FakePve, startFakePve } from "./server.ts";
import { gpuSeed } from "./pci_inventory.ts";
import { type RawResponse, request } from "./testing/client.ts";
import type { Acl } from "./auth.ts";

type Call = (
  method: string,
  path: string,
  params?: Array<[string, string]>,
  token?: string,
) => Promise<RawResponse>;

/** A fake PVE with GPUs on pve1, a root token and tokens with limited ACLs. */
async function withPve(
  acls: Record<string, Acl[]>,
  body: (pve: FakePve, call: Call) => Promise<void>,
): Promise<void> {
  const tokens = Object.entries(acls).map(([name, a]) => ({
    id: `ops@pve!${name}`,
    secret: `secret-${name}`,
    acls: a,
  }));
  const pve = await startFakePve({
    seed: 5,
    tokens,
    model: { pci: gpuSeed({ pve1: 2 }, { model: "t4" }) },
  });
  const call: Call = (method, path, params = [], token) => {
    const auth = token
      ? `PVEAPIToken=ops@pve!${token}=secret-${token}`
      : `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}`;
    const qs = new URLSearchParams(params).toString();
    const bodyless = method === "GET" || method === "DELETE";
    return request(
      pve.url,
      pve.caPem,
      method,
      `/api2/json${path}${bodyless && qs ? `?${qs}` : ""}`,
      { headers: { Authorization: auth }, ...(bodyless ? {} : { body: qs }) },
    );
  };
  try {
    await body(pve, call);
  } finally {
    await pve.close();
  }
}

const data = (r: RawResponse) => (r.json as { data: unknown }).data;

Deno.test("PCI mappings: create, list, read, update with digest, delete", async () => {
  await withPve({}, async (_pve, call) => {
    const created = await call("POST", "/cluster/mapping/pci", [
      ["id", "l4"],
      ["description", "L4 cards"],
      ["map", "node=pve2,path=0000:81:00.0,id=10de:27b8,iommugroup=40"],
      ["map", "node=pve3,path=0000:81:00.0,id=10de:27b8,iommugroup=40"],
    ]);
    assert.equal(created.status, 200, created.text);
    assert.deepEqual(created.json, { data: null });
    const again = await call("POST", "/cluster/mapping/pci", [["id", "l4"], [
      "map",
      "node=pve2,path=0000:81:00.0,id=10de:27b8",
    ]]);
    assert.equal(again.status, 500);
    assert.equal(again.reason, "create hardware mapping failed: pci ID 'l4' already defined");
    const list = data(await call("GET", "/cluster/mapping/pci")) as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((m) => m.id).sort(), ["gpu", "l4"]);
    const l4 = data(await call("GET", "/cluster/mapping/pci/l4")) as Record<string, unknown>;
    assert.equal(l4.type, "pci");
    assert.equal(l4.description, "L4 cards");
    assert.deepEqual(l4.map, [
      "node=pve2,path=0000:81:00.0,id=10de:27b8,iommugroup=40",
      "node=pve3,path=0000:81:00.0,id=10de:27b8,iommugroup=40",
    ]);
    assert.match(String(l4.digest), /^[0-9a-f]{40}$/);
    const stale = await call("PUT", "/cluster/mapping/pci/l4", [["digest", "0".repeat(40)], [
      "mdev",
      "1",
    ]]);
    assert.equal(stale.status, 500);
    assert.match(stale.reason, /detected modified configuration/);
    const upd = await call("PUT", "/cluster/mapping/pci/l4", [
      ["digest", String(l4.digest)],
      ["mdev", "1"],
      ["delete", "description"],
    ]);
    assert.equal(upd.status, 200, upd.text);
    const after = data(await call("GET", "/cluster/mapping/pci/l4")) as Record<string, unknown>;
    assert.equal(after.mdev, 1);
    assert.equal(after.description, undefined);
    assert.notEqual(after.digest, l4.digest);
    assert.equal((await call("DELETE", "/cluster/mapping/pci/l4")).status, 200);
    const gone = await call("GET", "/cluster/mapping/pci/l4");
    assert.equal(gone.status, 500);
    assert.equal(gone.reason, "mapping 'l4' not found");
    const missing = await call("PUT", "/cluster/mapping/pci/l4", [["mdev", "0"]]);
    assert.equal(missing.reason, "update hardware mapping failed: pci ID 'l4' does not exist");
  });
});

Deno.test("PCI mapping parameters are checked like PVE's schema", async () => {
  await withPve({}, async (_pve, call) => {
    const r = await call("POST", "/cluster/mapping/pci", [
      ["id", "9bad"],
      ["map", "node=pve1,path=0000:41:00.0"],
      ["colour", "red"],
    ]);
    assert.equal(r.status, 400);
    const errors = (r.json as { errors: Record<string, string> }).errors;
    assert.equal(errors.id, "invalid format - invalid configuration ID '9bad'\n");
    assert.match(errors.map!, /map\.id: property is missing and it is not optional/);
    assert.match(errors.colour!, /not defined in schema/);
    const noMap = await call("POST", "/cluster/mapping/pci", [["id", "x1"]]);
    assert.equal(
      (noMap.json as { errors: Record<string, string> }).errors.map,
      "property is missing and it is not optional",
    );
  });
});

Deno.test("PCI mapping ACLs: listing shows only audited mappings; create, update and delete need Mapping.Modify", async () => {
  await withPve({
    auditor: [{ path: "/mapping/pci/gpu", privs: ["Mapping.Audit"] }],
    user: [{ path: "/mapping/pci/gpu", privs: ["Mapping.Use"] }, {
      path: "/vms",
      privs: ["VM.Config.HWType", "VM.PowerMgmt", "VM.Audit"],
    }],
    nobody: [{ path: "/vms", privs: ["VM.Audit"] }],
    admin: [{ path: "/mapping/pci", privs: ["Mapping.Modify"] }],
  }, async (pve, call) => {
    const entry = "node=pve1,path=0000:41:00.0,id=10de:1eb8";
    assert.equal(
      (await call("POST", "/cluster/mapping/pci", [["id", "other"], ["map", entry]])).status,
      200,
    );
    const seen = data(await call("GET", "/cluster/mapping/pci", [], "auditor")) as Array<
      { id: string }
    >;
    assert.deepEqual(seen.map((m) => m.id), ["gpu"]);
    assert.deepEqual(data(await call("GET", "/cluster/mapping/pci", [], "nobody")), []);
    const denied = await call("GET", "/cluster/mapping/pci/gpu", [], "nobody");
    assert.equal(denied.status, 403);
    assert.equal(
      denied.reason,
      "Permission check failed (/mapping/pci/gpu, Mapping.Modify|Mapping.Use|Mapping.Audit)",
    );
    assert.equal((await call("GET", "/cluster/mapping/pci/gpu", [], "auditor")).status, 200);
    const create = await call(
      "POST",
      "/cluster/mapping/pci",
      [["id", "new"], ["map", entry]],
      "auditor",
    );
    assert.equal(create.status, 403);
    assert.equal(create.reason, "Permission check failed (/mapping/pci, Mapping.Modify)");
    assert.equal(
      (await call("PUT", "/cluster/mapping/pci/gpu", [["mdev", "0"]], "user")).status,
      403,
    );
    assert.equal((await call("DELETE", "/cluster/mapping/pci/other", [], "user")).status, 403);
    assert.equal(
      (await call("POST", "/cluster/mapping/pci", [["id", "new"], ["map", entry]], "admin")).status,
      200,
    );
    assert.equal((await call("DELETE", "/cluster/mapping/pci/other", [], "admin")).status, 200);

    // Using a mapping in a VM config needs Mapping.Use on it; raw host ids are root@pam's alone
    pve.model.addVm({ vmid: 400, node: "pve1", name: "g", config: { memory: "1024" } });
    const use = await call(
      "PUT",
      "/nodes/pve1/qemu/400/config",
      [["hostpci0", "mapping=gpu"]],
      "user",
    );
    assert.equal(use.status, 200, use.text);
    const useOther = await call(
      "PUT",
      "/nodes/pve1/qemu/400/config",
      [["hostpci1", "mapping=new"]],
      "user",
    );
    assert.equal(useOther.status, 403);
    assert.equal(useOther.reason, "Permission check failed (/mapping/pci/new, Mapping.Use)");
    const raw = await call("PUT", "/nodes/pve1/qemu/400/config", [["hostpci1", "0000:41:00.0"]]);
    assert.equal(raw.status, 500);
    assert.equal(raw.reason, "only root can set 'hostpci1' config for non-mapped devices");
  });
});

Deno.test("/hardware/pci lists the seeded devices and hides bridges; /mdev lists types with available counts", async () => {
  await withPve({ nobody: [{ path: "/vms", privs: ["VM.Audit"] }] }, async (pve, call) => {
    const list = data(await call("GET", "/nodes/pve1/hardware/pci")) as Array<
      Record<string, unknown>
    >;
    const gpus = list.filter((d) => d.vendor === "0x10de");
    assert.deepEqual(gpus.map((d) => d.id), ["0000:41:00.0", "0000:42:00.0"]);
    assert.deepEqual(gpus[0], {
      id: "0000:41:00.0",
      class: "0x030200",
      vendor: "0x10de",
      device: "0x1eb8",
      vendor_name: "NVIDIA Corporation",
      device_name: "TU104GL [Tesla T4]",
      subsystem_vendor: "0x10de",
      subsystem_device: "0x12a2",
      subsystem_vendor_name: "NVIDIA Corporation",
      iommugroup: 20,
      mdev: 1,
    });
    assert.ok(!list.some((d) => String(d.class).startsWith("0x06")), "bridges are filtered");
    assert.ok(list.some((d) => d.class === "0x020000"), "the NIC is listed");
    const pve2 = data(await call("GET", "/nodes/pve2/hardware/pci")) as Array<
      Record<string, unknown>
    >;
    assert.ok(!pve2.some((d) => d.vendor === "0x10de"));
    assert.equal((await call("GET", "/nodes/pve1/hardware/pci", [], "nobody")).status, 403);

    const types = data(await call("GET", "/nodes/pve1/hardware/pci/0000:41:00.0/mdev")) as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(types.map((t) => [t.type, t.available]), [
      ["nvidia-222", 16],
      ["nvidia-223", 8],
      ["nvidia-230", 1],
    ]);
    const byMapping = data(await call("GET", "/nodes/pve1/hardware/pci/gpu/mdev")) as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(byMapping.map((t) => t.type), ["nvidia-222", "nvidia-223", "nvidia-230"]);

    // a VM with a vGPU running: the listing shows the instance taken
    pve.model.addVm({
      vmid: 410,
      node: "pve1",
      name: "v",
      config: { memory: "1024", hostpci0: "0000:41:00.0,mdev=nvidia-223" },
    });
    const start = await call("POST", "/nodes/pve1/qemu/410/status/start");
    const upid = String(data(start));
    for (let i = 0; i < 100; i++) {
      const s = data(await call("GET", `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`)) as {
        status: string;
        exitstatus?: string;
      };
      if (s.status === "stopped") {
        assert.equal(s.exitstatus, "OK");
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const now = data(await call("GET", "/nodes/pve1/hardware/pci/0000:41:00.0/mdev")) as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(now.map((t) => [t.type, t.available]), [
      ["nvidia-222", 0],
      ["nvidia-223", 7],
      ["nvidia-230", 0],
    ]);
  });
});
