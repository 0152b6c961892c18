import assert from "node:assert/strict";
import { PveModel } from "./model.ts";
import { parseUpid } from "./upid.ts";

const GiB = 1024 ** 3;
const ROOT = "root@pam!proxscale";

/** A model on a virtual clock the test moves by hand. */
function fakeCluster(opts: ConstructorParameters<typeof PveModel>[0] = {}) {
  let t = 1_750_000_000_000;
  const model = new PveModel({ now: () => t, seed: 7, ...opts });
  return {
    model,
    tick(ms: number) {
      t += ms;
      model.advance();
    },
    /** Advances the clock until the task stopped; returns its exitstatus. */
    finish(node: string, upid: string): string {
      for (let i = 0; i < 10_000; i++) {
        const s = model.taskStatus(node, upid);
        assert.ok(s.ok);
        if (s.value.status === "stopped") return s.value.exitstatus as string;
        const next = model.nextEventAt();
        t = next !== undefined && next > t ? next : t + 100;
      }
      throw new Error("task never finished");
    },
  };
}

function ok<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}

Deno.test("create stores disks, NICs and tags as PVE prints them and reports a qmcreate UPID", () => {
  const c = fakeCluster();
  const upid = ok(c.model.createVm("pve1", {
    vmid: "1251",
    name: "zagato-worker-auto-1251",
    tags: "Kube;alpha",
    memory: "6144",
    cores: "2",
    scsi0: "local-lvm:16,serial=CONTAINERD01,discard=on,ssd=on",
    ide2: "local-lvm:cloudinit",
    net0: "virtio=02:00:00:4A:1B:2C,bridge=vmbr0,tag=20",
    ipconfig0: "ip=dhcp",
  }, ROOT));
  const u = parseUpid(upid)!;
  assert.equal(u.type, "qmcreate");
  assert.equal(u.id, "1251");
  assert.equal(u.user, ROOT);
  assert.match(
    upid,
    /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmcreate:1251:root@pam!proxscale:$/,
  );
  // the VMID is reserved at once with lock: create
  assert.equal(ok(c.model.getConfig("pve1", 1251)).lock, "create");
  assert.equal(ok(c.model.taskStatus("pve1", upid)).status, "running");
  assert.equal(c.finish("pve1", upid), "OK");
  const conf = ok(c.model.getConfig("pve1", 1251));
  assert.equal(
    conf.scsi0,
    "local-lvm:vm-1251-disk-0,discard=on,serial=CONTAINERD01,size=16G,ssd=1",
  );
  assert.equal(conf.ide2, "local-lvm:vm-1251-cloudinit,media=cdrom");
  assert.equal(conf.net0, "virtio=02:00:00:4A:1B:2C,bridge=vmbr0,tag=20");
  assert.equal(conf.tags, "Kube;alpha", "create keeps tags as sent");
  assert.equal(conf.memory, "6144");
  assert.equal(conf.cores, 2);
  assert.equal(conf.lock, undefined);
  assert.match(conf.digest as string, /^[0-9a-f]{40}$/);
  assert.equal("vmid" in conf, false);
  const log = ok(c.model.taskLog("pve1", upid));
  assert.equal(log.lines.at(-1)?.t, "TASK OK");
  assert.equal(log.total, log.lines.length);
});

Deno.test("create refuses a taken VMID synchronously and bad parameters with the errors map", () => {
  const c = fakeCluster();
  const taken = c.model.createVm("pve2", { vmid: "9000" }, ROOT);
  assert.deepEqual(taken, {
    ok: false,
    error: {
      status: 500,
      message: "unable to create VM 9000 - VM 9000 already exists on node 'pve1'",
    },
  });
  const bad = c.model.createVm("pve1", {
    vmid: "99",
    name: "bad_name",
    cores: "abc",
    tags: "owner=x",
    bogus: "1",
  }, ROOT);
  assert.ok(!bad.ok);
  assert.equal(bad.error.status, 400);
  assert.deepEqual(bad.error.errors, {
    vmid: "invalid format - value does not look like a valid VM ID\n",
    name: "invalid format - value does not look like a valid DNS name\n",
    cores: "type check ('integer') failed - got 'abc'",
    tags: "invalid format - invalid characters in tag\n",
    bogus: "property is not defined in schema and the schema does not allow additional properties",
  });
});

Deno.test("linked clone of a template names volumes per storage type; full clone copies to the target storage", () => {
  const c = fakeCluster();
  const linked = ok(c.model.cloneVm("pve1", 9000, { newid: "101", name: "worker-a" }, ROOT));
  const u = parseUpid(linked)!;
  assert.equal(u.type, "qmclone");
  assert.equal(u.id, "9000", "the qmclone UPID names the source VMID");
  // the placeholder exists at once
  const placeholder = ok(c.model.getConfig("pve1", 101));
  assert.equal(placeholder.lock, "clone");
  assert.equal(placeholder.description, "qmclone temporary file");
  const listed = ok(c.model.listQemu("pve1")).find((v) => v.vmid === 101)!;
  assert.equal(listed.name, "VM 101");
  assert.equal(c.finish("pve1", linked), "OK");
  const a = ok(c.model.getConfig("pve1", 101));
  assert.equal(a.scsi0, "local-lvm:vm-101-disk-0,discard=on,iothread=1,size=32G,ssd=1");
  assert.equal(a.ide2, "local-lvm:vm-101-cloudinit,media=cdrom");
  assert.equal(a.name, "worker-a");
  assert.equal(a.template, undefined);
  const src = ok(c.model.getConfig("pve1", 9000));
  assert.notEqual(a.net0, src.net0, "clone generates new MACs");
  assert.match(
    a.net0 as string,
    /^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0$/,
  );

  const full = ok(
    c.model.cloneVm("pve1", 9000, { newid: "102", full: "1", storage: "ceph" }, ROOT),
  );
  assert.equal(c.finish("pve1", full), "OK");
  const b = ok(c.model.getConfig("pve1", 102));
  assert.equal(b.scsi0, "ceph:vm-102-disk-0,discard=on,iothread=1,size=32G,ssd=1");
  assert.equal(b.name, "Copy-of-VM-k8s-template-pve1");
  const log = ok(c.model.taskLog("pve1", full)).lines.map((l) => l.t);
  assert.ok(log.includes("create full clone of drive scsi0 (local-lvm:base-9000-disk-0)"));

  const badLinked = c.model.cloneVm(
    "pve1",
    9000,
    { newid: "103", full: "0", storage: "ceph" },
    ROOT,
  );
  assert.ok(!badLinked.ok);
  assert.equal(badLinked.error.message, "parameter 'storage' not allowed for linked clones");
  const linkedOfVm = c.model.cloneVm("pve1", 101, { newid: "104", full: "0" }, ROOT);
  assert.ok(!linkedOfVm.ok);
  assert.equal(
    linkedOfVm.error.message,
    "Linked clone feature is not supported for 'local-lvm:vm-101-disk-0' (scsi0)",
  );
  const cross = c.model.cloneVm("pve1", 9000, { newid: "105", target: "pve2" }, ROOT);
  assert.ok(!cross.ok);
  assert.equal(cross.error.message, "can't clone VM to node 'pve2' (VM uses local storage)");
  const again = c.model.cloneVm("pve1", 9000, { newid: "101" }, ROOT);
  assert.ok(!again.ok);
  assert.equal(again.error.message, "unable to create VM 101: config file already exists");
});

Deno.test("a config change during a clone finds the file lock busy; a stale lock gives VM is locked", () => {
  const c = fakeCluster({ timing: { durations: { qmclone: 30_000 } } });
  const upid = ok(c.model.cloneVm("pve1", 9000, { newid: "110" }, ROOT));
  const busy = c.model.updateConfig("pve1", 110, { cores: "4" }, ROOT, "sync");
  assert.ok(!busy.ok);
  assert.equal(busy.error.status, 500);
  assert.equal(
    busy.error.message,
    "can't lock file '/var/lock/qemu-server/lock-110.conf' - got timeout",
  );
  assert.equal(busy.error.lockBusy, "vm:110");
  // a destroy queued behind the clone waits 10 s for the lock and fails in its task
  const del = ok(c.model.destroyVm("pve1", 110, { purge: "1" }, ROOT));
  c.tick(10_001);
  assert.equal(
    ok(c.model.taskStatus("pve1", del)).exitstatus,
    "can't lock file '/var/lock/qemu-server/lock-110.conf' - got timeout",
  );
  assert.equal(c.finish("pve1", upid), "OK");
  c.model.setLockProperty(110, "backup");
  const locked = c.model.updateConfig("pve1", 110, { cores: "4" }, ROOT, "sync");
  assert.ok(!locked.ok);
  assert.equal(locked.error.message, "VM is locked (backup)");
  const start = ok(c.model.powerVm("pve1", 110, "start", {}, ROOT));
  assert.equal(c.finish("pve1", start), "VM is locked (backup)");
});

Deno.test("digest protects config updates; tags are normalised on update; POST config is a qmconfig task", () => {
  const c = fakeCluster();
  c.finish("pve1", ok(c.model.cloneVm("pve1", 9000, { newid: "120" }, ROOT)));
  const digest = ok(c.model.getConfig("pve1", 120)).digest as string;
  assert.equal(
    ok(c.model.updateConfig("pve1", 120, { tags: "Zeta;alpha;ALPHA", digest }, ROOT, "sync")),
    null,
  );
  assert.equal(ok(c.model.getConfig("pve1", 120)).tags, "alpha;zeta");
  const stale = c.model.updateConfig("pve1", 120, { cores: "8", digest }, ROOT, "sync");
  assert.ok(!stale.ok);
  assert.equal(stale.error.message, "checksum mismatch (file change by other user?)");
  const upid = ok(
    c.model.updateConfig(
      "pve1",
      120,
      { scsi1: "local-lvm:16,serial=SCRATCH,discard=on,ssd=1", cores: "4" },
      ROOT,
      "async",
    ),
  );
  assert.equal(parseUpid(upid!)!.type, "qmconfig");
  assert.equal(c.finish("pve1", upid!), "OK");
  const conf = ok(c.model.getConfig("pve1", 120));
  assert.equal(conf.scsi1, "local-lvm:vm-120-disk-1,discard=on,serial=SCRATCH,size=16G,ssd=1");
  assert.equal(conf.cores, 4);
  const none = c.model.updateConfig("pve1", 120, {}, ROOT, "sync");
  assert.ok(!none.ok);
  assert.equal(none.error.message, "no options specified");
});

Deno.test("resize grows absolutely or by +, refuses to shrink, and every check is in the task", () => {
  const c = fakeCluster();
  c.finish("pve1", ok(c.model.cloneVm("pve1", 9000, { newid: "130", full: "1" }, ROOT)));
  assert.equal(
    c.finish("pve1", ok(c.model.resizeVm("pve1", 130, { disk: "scsi0", size: "+16G" }, ROOT))),
    "OK",
  );
  assert.equal(
    ok(c.model.getConfig("pve1", 130)).scsi0,
    "local-lvm:vm-130-disk-0,discard=on,iothread=1,size=48G,ssd=1",
  );
  assert.equal(
    c.finish("pve1", ok(c.model.resizeVm("pve1", 130, { disk: "scsi0", size: "20G" }, ROOT))),
    "shrinking disks is not supported",
  );
  assert.equal(
    c.finish("pve1", ok(c.model.resizeVm("pve1", 130, { disk: "scsi3", size: "20G" }, ROOT))),
    "disk 'scsi3' does not exist",
  );
  assert.equal(
    c.finish("pve1", ok(c.model.resizeVm("pve1", 130, { disk: "ide2", size: "+1G" }, ROOT))),
    "you can't resize a cdrom",
  );
});

Deno.test("power and destroy: running VMs refuse destroy, stop of a stopped VM is OK, purge frees disks", () => {
  const c = fakeCluster();
  c.finish("pve1", ok(c.model.cloneVm("pve1", 9000, { newid: "140" }, ROOT)));
  assert.equal(c.finish("pve1", ok(c.model.powerVm("pve1", 140, "start", {}, ROOT))), "OK");
  assert.equal(
    c.finish("pve1", ok(c.model.powerVm("pve1", 140, "start", {}, ROOT))),
    "VM 140 already running",
  );
  const running = c.model.destroyVm("pve1", 140, {}, ROOT);
  assert.ok(!running.ok);
  assert.equal(running.error.message, "VM 140 is running - destroy failed");
  assert.equal(c.finish("pve1", ok(c.model.powerVm("pve1", 140, "stop", {}, ROOT))), "OK");
  assert.equal(c.finish("pve1", ok(c.model.powerVm("pve1", 140, "stop", {}, ROOT))), "OK");
  assert.equal(
    c.finish(
      "pve1",
      ok(c.model.destroyVm("pve1", 140, { purge: "1", "destroy-unreferenced-disks": "1" }, ROOT)),
    ),
    "OK",
  );
  const gone = c.model.getConfig("pve1", 140);
  assert.ok(!gone.ok);
  assert.equal(
    gone.error.message,
    "Configuration file 'nodes/pve1/qemu-server/140.conf' does not exist",
  );
  const vols = ok(c.model.storageContent("pve1", "local-lvm", { vmid: 140 }));
  assert.deepEqual(vols, []);
  assert.equal(
    c.finish("pve1", ok(c.model.powerVm("pve1", 9000, "start", {}, ROOT))),
    "you can't start a vm if it's a template",
  );
  const tmpl = ok(c.model.destroyVm("pve1", 9000, {}, ROOT));
  c.finish("pve1", ok(c.model.cloneVm("pve1", 9000, { newid: "141" }, ROOT)));
  void tmpl;
});

Deno.test("nextid returns the lowest free VMID as a string and checks one VMID", () => {
  const c = fakeCluster();
  assert.deepEqual(c.model.nextid(), { ok: true, value: "100" });
  assert.deepEqual(c.model.nextid("9000"), {
    ok: false,
    error: {
      status: 400,
      message: "Parameter verification failed.",
      errors: { vmid: "VM 9000 already exists" },
    },
  });
  assert.deepEqual(c.model.nextid("555"), { ok: true, value: "555" });
  c.model.setNextIdRange(9000, 9003);
  assert.deepEqual(c.model.nextid(), {
    ok: false,
    error: { status: 500, message: "unable to get any free VMID in range [9000, 9003]" },
  });
});

Deno.test("ISO upload refuses snippets, ISOs attach as cdrom and survive VM destroy until deleted", () => {
  const c = fakeCluster();
  const snip = c.model.upload("pve1", "local", {
    content: "snippets",
    filename: "user.yaml",
    size: 10,
  }, ROOT);
  assert.ok(!snip.ok);
  assert.deepEqual(snip.error.errors, {
    content: "value 'snippets' does not have a value in the enumeration 'iso, vztmpl, import'",
  });
  const up = ok(
    c.model.upload("pve1", "local", {
      content: "iso",
      filename: "user data 150.iso",
      size: 366_592,
    }, ROOT),
  );
  assert.equal(parseUpid(up)!.type, "imgcopy");
  assert.equal(c.finish("pve1", up), "OK");
  const isos = ok(c.model.storageContent("pve1", "local", { content: "iso" }));
  assert.deepEqual(isos.map((v) => v.volid), ["local:iso/user_data_150.iso"]);
  c.finish("pve1", ok(c.model.cloneVm("pve1", 9000, { newid: "150" }, ROOT)));
  ok(
    c.model.updateConfig(
      "pve1",
      150,
      { ide0: "local:iso/user_data_150.iso,media=cdrom" },
      ROOT,
      "sync",
    ),
  );
  assert.equal(ok(c.model.getConfig("pve1", 150)).ide0, "local:iso/user_data_150.iso,media=cdrom");
  const missing = c.model.updateConfig(
    "pve1",
    150,
    { ide1: "local:iso/nope.iso,media=cdrom" },
    ROOT,
    "sync",
  );
  assert.ok(!missing.ok);
  assert.equal(missing.error.message, "volume 'local:iso/nope.iso' does not exist");
  ok(c.model.updateConfig("pve1", 150, { ide0: "none,media=cdrom" }, ROOT, "sync"));
  assert.equal(ok(c.model.getConfig("pve1", 150)).ide0, "none,media=cdrom");
  ok(
    c.model.updateConfig(
      "pve1",
      150,
      { ide0: "local:iso/user_data_150.iso,media=cdrom" },
      ROOT,
      "sync",
    ),
  );
  c.finish(
    "pve1",
    ok(c.model.destroyVm("pve1", 150, { purge: "1", "destroy-unreferenced-disks": "1" }, ROOT)),
  );
  assert.equal(ok(c.model.storageContent("pve1", "local", { content: "iso" })).length, 1);
  assert.equal(
    c.finish(
      "pve1",
      ok(c.model.deleteVolume("pve1", "local", "local:iso/user_data_150.iso", ROOT)),
    ),
    "OK",
  );
  assert.equal(ok(c.model.storageContent("pve1", "local", { content: "iso" })).length, 0);
});

Deno.test("full storage fails the clone task and rolls back; statistics lag hides fresh VMs", () => {
  const c = fakeCluster({ statsLagMs: 10_000 });
  c.model.setStorageAvail("ceph", 10 * GiB);
  const upid = ok(
    c.model.cloneVm("pve1", 9000, { newid: "160", full: "1", storage: "ceph" }, ROOT),
  );
  const entry = ok(c.model.resources("vm")).find((e) => e.vmid === 160)!;
  assert.deepEqual(entry, {
    id: "qemu/160",
    type: "qemu",
    vmid: 160,
    node: "pve1",
    status: "unknown",
    lock: "clone",
  });
  const exit = c.finish("pve1", upid);
  assert.equal(
    exit,
    "clone failed: rbd create 'vm-160-disk-0' error: rbd: create error: (28) No space left on device",
  );
  assert.ok(!c.model.getConfig("pve1", 160).ok, "the failed clone removed its config");
  const tmpl = ok(c.model.resources("vm")).find((e) => e.vmid === 9000)!;
  assert.equal(tmpl.name, "k8s-template-pve1");
});

Deno.test("parallel full clones onto one storage serialise and the late one times out on the storage lock", () => {
  const c = fakeCluster({ timing: { cloneBytesPerSecond: 2 * GiB } }); // 16 s per 32G copy
  const a = ok(c.model.cloneVm("pve1", 9000, { newid: "170", full: "1" }, ROOT));
  const b = ok(c.model.cloneVm("pve1", 9000, { newid: "171", full: "1" }, ROOT));
  assert.equal(c.finish("pve1", a), "OK");
  assert.equal(
    c.finish("pve1", b),
    "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout",
  );
});

Deno.test("offline hosts answer 595 and quorum loss refuses writes", () => {
  const c = fakeCluster();
  c.model.setHostOnline("pve2", false);
  const r = c.model.listQemu("pve2");
  assert.deepEqual(r, { ok: false, error: { status: 595, message: "No route to host" } });
  const node = c.model.nodes().find((n) => n.node === "pve2")!;
  assert.equal(node.status, "offline");
  assert.equal("mem" in node, false);
  c.model.setQuorate(false);
  const w = c.model.cloneVm("pve1", 9000, { newid: "180" }, ROOT);
  assert.ok(!w.ok);
  assert.equal(w.error.message, "cluster not ready - no quorum?");
});

Deno.test("config changes on a running VM: hot-pluggable ones apply, cores and memory stay pending until start", () => {
  const c = fakeCluster();
  c.finish("pve1", ok(c.model.cloneVm("pve1", 9000, { newid: "190" }, ROOT)));
  c.finish("pve1", ok(c.model.powerVm("pve1", 190, "start", {}, ROOT)));
  ok(
    c.model.updateConfig(
      "pve1",
      190,
      { cores: "8", memory: "8192", tags: "b;a", onboot: "1" },
      ROOT,
      "sync",
    ),
  );
  const shown = ok(c.model.getConfig("pve1", 190));
  assert.equal(shown.cores, 8, "GET config shows pending values by default");
  assert.equal(shown.tags, "a;b");
  const current = ok(c.model.getConfig("pve1", 190, true));
  assert.equal(current.cores, 2, "current=1 shows what runs");
  assert.equal(current.memory, "2048");
  assert.equal(current.onboot, 1, "fast-plug options apply at once");
  assert.match(c.model.configFileText(190)!, /\n\[PENDING\]\ncores: 8\nmemory: 8192\n$/);
  const pend = ok(c.model.pending("pve1", 190));
  assert.deepEqual(pend.find((e) => e.key === "cores"), { key: "cores", value: "2", pending: "8" });
  assert.equal(ok(c.model.statusCurrent("pve1", 190)).cpus, 2);
  c.finish("pve1", ok(c.model.powerVm("pve1", 190, "stop", {}, ROOT)));
  assert.equal(ok(c.model.getConfig("pve1", 190, true)).cores, 2, "stop does not apply pending");
  c.finish("pve1", ok(c.model.powerVm("pve1", 190, "start", {}, ROOT)));
  assert.equal(ok(c.model.getConfig("pve1", 190, true)).cores, 8, "start applies pending");
  assert.equal(c.model.configFileText(190)!.includes("[PENDING]"), false);
  assert.equal(ok(c.model.statusCurrent("pve1", 190)).cpus, 8);
});

Deno.test("power and destroy parameters are checked against their schema", () => {
  const c = fakeCluster();
  const bad = c.model.destroyVm("pve1", 9000, { purge: "true", force: "1" }, ROOT);
  assert.ok(!bad.ok);
  assert.deepEqual(bad.error.errors, {
    purge: "type check ('boolean') failed - got 'true'",
    force: "property is not defined in schema and the schema does not allow additional properties",
  });
  const root = c.model.powerVm("pve1", 9000, "start", { skiplock: "1" }, ROOT);
  assert.ok(!root.ok);
  assert.deepEqual(root.error.errors, { skiplock: "Only root may use this option." });
  assert.ok(c.model.powerVm("pve1", 9000, "shutdown", { forceStop: "1", timeout: "30" }, ROOT).ok);
});
