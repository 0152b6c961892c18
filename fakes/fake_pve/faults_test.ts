import assert from "node:assert/strict";
import { FaultController } from "./faults.ts";
import { PveModel } from "./model.ts";

const ROOT = "root@pam!proxscale";
const GiB = 1024 ** 3;

function setup() {
  let t = 1_800_000_000_000;
  const model = new PveModel({ now: () => t, seed: 5 });
  const faults = new FaultController(model, 5);
  const run = (node: string, upid: string) => {
    for (let i = 0; i < 1000; i++) {
      const s = model.taskStatus(node, upid);
      if (!s.ok) throw new Error(s.error.message);
      if (s.value.status === "stopped") return s.value.exitstatus as string;
      t = Math.max(t + 1, model.nextEventAt() ?? t + 100);
    }
    throw new Error("stuck");
  };
  return { model, faults, run, tick: (ms: number) => ((t += ms), model.advance()), now: () => t };
}

function ok<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

Deno.test("slow clone: copy time follows the configured rate per storage", () => {
  const { model, faults, run, now } = setup();
  faults.update({ slowClone: { bytesPerSecond: 1 * GiB } }); // 32 s for the 32G template disk
  const start = now();
  const upid = ok(model.cloneVm("pve1", 9000, { newid: "200", full: "1" }, ROOT));
  assert.equal(run("pve1", upid), "OK");
  assert.ok(now() - start >= 32_000, `took ${now() - start} ms`);
  faults.update({ taskDurations: { qmstart: 60_000 } });
  const t0 = now();
  assert.equal(run("pve1", ok(model.powerVm("pve1", 200, "start", {}, ROOT))), "OK");
  assert.equal(now() - t0, 60_000);
});

Deno.test("injected lock holder: config refuses synchronously, start fails in its task", () => {
  const { model, faults, run } = setup();
  faults.update({ lockHolds: [{ vmid: 9001, ms: 30_000 }] });
  const sync = model.updateConfig("pve2", 9001, { cores: "4" }, ROOT, "sync");
  assert.ok(!sync.ok);
  assert.equal(
    sync.error.message,
    "can't lock file '/var/lock/qemu-server/lock-9001.conf' - got timeout",
  );
  assert.equal(
    run("pve2", ok(model.destroyVm("pve2", 9001, {}, ROOT))),
    "can't lock file '/var/lock/qemu-server/lock-9001.conf' - got timeout",
  );
});

Deno.test("stale lock, task failure with rollback, killed clone keeps its lock", () => {
  const { model, faults, run } = setup();
  faults.update({ staleLocks: [{ vmid: 9002, lock: "migrate" }] });
  const c = model.cloneVm("pve3", 9002, { newid: "210" }, ROOT);
  assert.deepEqual(c, { ok: false, error: { status: 500, message: "VM is locked (migrate)" } });
  faults.update({
    taskFailures: [{ type: "qmcreate", message: "unable to create VM 211 - boom", times: 1 }],
  });
  assert.equal(
    run("pve1", ok(model.createVm("pve1", { vmid: "211", scsi0: "local-lvm:4" }, ROOT))),
    "unable to create VM 211 - boom",
  );
  assert.equal(model.getConfig("pve1", 211).ok, false, "create rolled back its config");
  assert.deepEqual(ok(model.storageContent("pve1", "local-lvm", { vmid: 211 })), []);
  assert.equal(
    run("pve1", ok(model.createVm("pve1", { vmid: "211" }, ROOT))),
    "OK",
    "times: 1 fired once",
  );
  faults.update({ taskFailures: [{ type: "qmclone", vmid: 9000, killed: true }] });
  assert.equal(
    run("pve1", ok(model.cloneVm("pve1", 9000, { newid: "212" }, ROOT))),
    "unexpected status",
  );
  assert.equal(ok(model.getConfig("pve1", 212)).lock, "clone");
});

Deno.test("full storage, offline host, quorum and statistics lag are switched at runtime", () => {
  const { model, faults, run, tick } = setup();
  faults.update({ fullStorage: [{ storage: "local-lvm", node: "pve1" }] });
  const exit = run("pve1", ok(model.createVm("pve1", { vmid: "220", scsi0: "local-lvm:8" }, ROOT)));
  assert.match(
    exit,
    /^unable to create VM 220 - lvcreate 'pve\/vm-220-disk-0' error: {3}Insufficient free space/,
  );
  const st = ok(model.storageStatus("pve1", "local-lvm"));
  assert.equal(st.avail, 0);
  faults.update({ offlineNodes: ["pve2"] });
  assert.deepEqual(model.nodeStatus("pve2"), {
    ok: false,
    error: { status: 595, message: "No route to host" },
  });
  assert.equal(model.clusterStatus().find((e) => e.name === "pve2")?.online, 0);
  faults.update({ noQuorum: true });
  assert.equal(model.clusterStatus()[0]!.quorate, 0);
  assert.equal(ok(model.listQemu("pve1")).length > 0, true, "reads still work without quorum");
  faults.clear();
  assert.equal(model.clusterStatus().find((e) => e.name === "pve2")?.online, 1);
  assert.equal(model.clusterStatus()[0]!.quorate, 1);
  faults.update({ statsLagMs: 10_000 });
  tick(10_000);
  ok(model.cloneVm("pve1", 9000, { newid: "221", name: "fresh" }, ROOT));
  const fresh = ok(model.resources("vm")).find((e) => e.vmid === 221)!;
  assert.equal(fresh.status, "unknown");
  assert.equal("name" in fresh, false);
  tick(20_000);
  const later = ok(model.resources("vm")).find((e) => e.vmid === 221)!;
  assert.equal(later.name, "fresh");
});

Deno.test("HTTP faults: rate draws are seeded, times and endpoint scopes are honoured", () => {
  const draw = () => {
    const { faults } = setup();
    faults.update({
      errors: [{ endpoint: "GET /cluster/nextid", rate: 0.3 }],
      latency: [{ ms: 5, jitterMs: 10 }],
    });
    return Array.from({ length: 20 }, () => faults.forRequest("GET /cluster/nextid"));
  };
  assert.deepEqual(draw(), draw());
  const { faults } = setup();
  faults.update({
    errors: [{ endpoint: "POST /nodes/{node}/qemu", node: "pve2", times: 2, status: 503 }],
  });
  assert.equal(faults.forRequest("POST /nodes/{node}/qemu", "pve1").error, undefined);
  assert.equal(faults.forRequest("POST /nodes/{node}/qemu", "pve2").error?.status, 503);
  assert.equal(faults.forRequest("POST /nodes/{node}/qemu", "pve2").error?.status, 503);
  assert.equal(faults.forRequest("POST /nodes/{node}/qemu", "pve2").error, undefined);
});
