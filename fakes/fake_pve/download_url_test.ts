import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { defaultStorages } from "./model.ts";
import { startFakePve, type TokenSpec } from "./server.ts";
import { request } from "./testing/client.ts";

const IMAGE = new TextEncoder().encode("QFI\xfb a tiny cloud image for the fake ".repeat(64));
const SHA256 = createHash("sha256").update(IMAGE).digest("hex");
const SHA512 = createHash("sha512").update(IMAGE).digest("hex");

type Call = (
  method: string,
  path: string,
  params?: Record<string, string>,
  token?: TokenSpec,
) => Promise<{ status: number; reason: string; data: unknown }>;

/** A real-clock fake PVE whose `local` storage takes `import`, and an image server on 127.0.0.1. */
async function withImage(
  body: (h: {
    call: Call;
    url: string;
    hits: () => number;
    finish: (node: string, upid: string) => Promise<Record<string, unknown>>;
    log: (node: string, upid: string) => Promise<string[]>;
  }) => Promise<void>,
  tokens: TokenSpec[] = [],
): Promise<void> {
  let hits = 0;
  const ac = new AbortController();
  const served = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      hits++;
      return new URL(req.url).pathname === "/noble.qcow2"
        ? new Response(IMAGE)
        : new Response("no", { status: 404, statusText: "Not Found" });
    },
  );
  const storages = defaultStorages().map((s) =>
    s.id === "local" ? { ...s, content: [...s.content, "import"] } : s
  );
  const pve = await startFakePve({
    seed: 5,
    tokens,
    model: {
      storages,
      timing: { durations: { qmcreate: 20, qmtemplate: 20, qmstart: 20 } },
    },
  });
  const call: Call = async (method, path, params, token) => {
    const t = token ?? { id: pve.tokenId, secret: pve.tokenSecret };
    const headers = { Authorization: `PVEAPIToken=${t.id}=${t.secret}` };
    const qs = params ? new URLSearchParams(params).toString() : "";
    const r = method === "GET"
      ? await request(pve.url, pve.caPem, method, `/api2/json${path}${qs ? `?${qs}` : ""}`, {
        headers,
      })
      : await request(pve.url, pve.caPem, method, `/api2/json${path}`, { headers, body: qs });
    return { status: r.status, reason: r.reason, data: (r.json as { data?: unknown })?.data };
  };
  const finish = async (node: string, upid: string) => {
    for (let i = 0; i < 400; i++) {
      const s = (await call("GET", `/nodes/${node}/tasks/${upid}/status`)).data as Record<
        string,
        unknown
      >;
      if (s.status === "stopped") return s;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("task did not finish");
  };
  const log = async (node: string, upid: string) =>
    ((await call("GET", `/nodes/${node}/tasks/${upid}/log`, { limit: "500" })).data as Array<
      { t: string }
    >).map((l) => l.t);
  try {
    await body({
      call,
      url: `http://127.0.0.1:${served.addr.port}`,
      hits: () => hits,
      finish,
      log,
    });
  } finally {
    ac.abort();
    await served.finished;
    await pve.close();
  }
}

Deno.test("download-url fetches the image from the URL, verifies its sha256 and lists it as import content", async () => {
  await withImage(async ({ call, url, hits, finish, log }) => {
    const r = await call("POST", "/nodes/pve1/storage/local/download-url", {
      url: `${url}/noble.qcow2`,
      content: "import",
      filename: "noble.qcow2",
      checksum: SHA256,
      "checksum-algorithm": "sha256",
    });
    assert.equal(r.status, 200);
    const upid = r.data as string;
    assert.match(upid, /:download:noble\.qcow2:/, "the task's id is the file name");
    const st = await finish("pve1", upid);
    assert.equal(st.exitstatus, "OK");
    assert.equal(hits(), 1);
    const lines = await log("pve1", upid);
    assert.ok(lines.includes("checksum verified"), lines.join("\n"));
    assert.equal(lines.at(-1), "TASK OK");
    const content = (await call("GET", "/nodes/pve1/storage/local/content", {
      content: "import",
    })).data as Array<Record<string, unknown>>;
    assert.deepEqual(content.map((c) => [c.volid, c.format, c.size]), [
      ["local:import/noble.qcow2", "qcow2", IMAGE.length],
    ]);
    const other = (await call("GET", "/nodes/pve2/storage/local/content", {
      content: "import",
    })).data as unknown[];
    assert.deepEqual(other, [], "a local storage holds the file on one host only");
    const again = await call("POST", "/nodes/pve1/storage/local/download-url", {
      url: `${url}/noble.qcow2`,
      content: "import",
      filename: "noble.qcow2",
    });
    assert.equal(again.status, 500);
    assert.equal(
      again.reason,
      "refusing to override existing file '/var/lib/vz/import/noble.qcow2'",
    );
    assert.equal(hits(), 1, "a refused download fetches nothing");
  });
});

Deno.test("a checksum mismatch fails the download task with PVE's message and stores nothing", async () => {
  await withImage(async ({ call, url, finish }) => {
    const bad = "0".repeat(128);
    const r = await call("POST", "/nodes/pve2/storage/local/download-url", {
      url: `${url}/noble.qcow2`,
      content: "import",
      filename: "noble.qcow2",
      checksum: bad,
      "checksum-algorithm": "sha512",
    });
    const st = await finish("pve2", r.data as string);
    assert.equal(st.exitstatus, `checksum mismatch: got '${SHA512}' != expect '${bad}'`);
    const content = (await call("GET", "/nodes/pve2/storage/local/content")).data as unknown[];
    assert.deepEqual(content, []);
    const missing = await call("POST", "/nodes/pve2/storage/local/download-url", {
      url: `${url}/gone.qcow2`,
      content: "import",
      filename: "gone.qcow2",
    });
    const st2 = await finish("pve2", missing.data as string);
    assert.match(String(st2.exitstatus), /^download failed: ERROR 404/);
  });
});

Deno.test("download-url checks parameters, content types and the storage synchronously", async () => {
  await withImage(async ({ call, url, hits }) => {
    const noAlgo = await call("POST", "/nodes/pve1/storage/local/download-url", {
      url: `${url}/noble.qcow2`,
      content: "import",
      filename: "noble.qcow2",
      checksum: SHA256,
    });
    assert.equal(noAlgo.status, 400);
    const badExt = await call("POST", "/nodes/pve1/storage/local/download-url", {
      url: `${url}/noble.qcow2`,
      content: "import",
      filename: "noble.txt",
    });
    assert.equal(badExt.status, 400);
    const lvm = await call("POST", "/nodes/pve1/storage/local-lvm/download-url", {
      url: `${url}/noble.qcow2`,
      content: "import",
      filename: "noble.qcow2",
    });
    assert.equal(lvm.status, 500);
    assert.equal(lvm.reason, "cannot download to storage type 'lvmthin'");
    assert.equal(hits(), 0);
  });
});

Deno.test("a template is built from the downloaded image: create with import-from, cloud-init, then template", async () => {
  await withImage(async ({ call, url, finish, log }) => {
    const d = await call("POST", "/nodes/pve3/storage/local/download-url", {
      url: `${url}/noble.qcow2`,
      content: "import",
      filename: "noble.qcow2",
      checksum: SHA256,
      "checksum-algorithm": "sha256",
    });
    assert.equal((await finish("pve3", d.data as string)).exitstatus, "OK");
    const c = await call("POST", "/nodes/pve3/qemu", {
      vmid: "8100",
      name: "tpl-noble",
      scsi0: "local-lvm:0,import-from=local:import/noble.qcow2,discard=on",
      ide2: "local-lvm:cloudinit",
      scsihw: "virtio-scsi-single",
      net0: "virtio,bridge=vmbr0",
    });
    assert.equal(c.status, 200, c.reason);
    assert.equal((await finish("pve3", c.data as string)).exitstatus, "OK");
    assert.ok(
      (await log("pve3", c.data as string)).includes(
        "importing disk 'local:import/noble.qcow2' to VM 8100 ...",
      ),
    );
    const conf = (await call("GET", "/nodes/pve3/qemu/8100/config")).data as Record<string, string>;
    assert.match(conf.scsi0!, /^local-lvm:vm-8100-disk-0,discard=on,size=/);
    assert.doesNotMatch(conf.scsi0!, /import-from/);
    const zero = await call("POST", "/nodes/pve3/qemu", {
      vmid: "8101",
      scsi0: "local-lvm:4,import-from=local:import/noble.qcow2",
    });
    assert.equal(zero.status, 400, "import-from needs the size 0");
    const gone = await call("POST", "/nodes/pve3/qemu", {
      vmid: "8102",
      scsi0: "local-lvm:0,import-from=local:import/other.qcow2",
    });
    assert.equal(gone.reason, "volume 'local:import/other.qcow2' does not exist");

    const start = await call("POST", "/nodes/pve3/qemu/8100/status/start");
    await finish("pve3", start.data as string);
    const running = await call("POST", "/nodes/pve3/qemu/8100/template");
    assert.equal(running.reason, "you can't convert a VM to template if VM is running");
    const stop = await call("POST", "/nodes/pve3/qemu/8100/status/stop");
    await finish("pve3", stop.data as string);
    const t = await call("POST", "/nodes/pve3/qemu/8100/template");
    assert.equal(t.status, 200);
    assert.match(t.data as string, /:qmtemplate:8100:/);
    assert.equal((await finish("pve3", t.data as string)).exitstatus, "OK");
    const tconf = (await call("GET", "/nodes/pve3/qemu/8100/config")).data as Record<
      string,
      unknown
    >;
    assert.equal(tconf.template, 1);
    assert.match(String(tconf.scsi0), /^local-lvm:base-8100-disk-0,/);
    const twice = await call("POST", "/nodes/pve3/qemu/8100/template");
    assert.equal(twice.reason, "you can't convert a template to a template");
  });
});

Deno.test("download-url needs Datastore.AllocateTemplate on the storage and network access on the node", async () => {
  const noNet: TokenSpec = {
    id: "autoscaler@pve!nonet",
    secret: "s1",
    acls: [{ path: "/storage", privs: ["Datastore.AllocateTemplate"] }],
  };
  const noStore: TokenSpec = {
    id: "autoscaler@pve!nostore",
    secret: "s2",
    acls: [{ path: "/", privs: ["Sys.Audit", "Sys.Modify"] }],
  };
  const ok: TokenSpec = {
    id: "autoscaler@pve!ok",
    secret: "s3",
    acls: [
      { path: "/storage/local", privs: ["Datastore.AllocateTemplate"] },
      { path: "/nodes/pve1", privs: ["Sys.AccessNetwork"] },
    ],
  };
  await withImage(async ({ call, url, finish }) => {
    const p = {
      url: `${url}/noble.qcow2`,
      content: "import",
      filename: "noble.qcow2",
    };
    const a = await call("POST", "/nodes/pve1/storage/local/download-url", p, noNet);
    assert.equal(a.status, 403);
    assert.equal(a.reason, "Permission check failed (/nodes/pve1, Sys.AccessNetwork)");
    const b = await call("POST", "/nodes/pve1/storage/local/download-url", p, noStore);
    assert.equal(b.reason, "Permission check failed (/storage/local, Datastore.AllocateTemplate)");
    const c = await call("POST", "/nodes/pve1/storage/local/download-url", p, ok);
    assert.equal(c.status, 200);
    assert.equal((await finish("pve1", c.data as string)).exitstatus, "OK");
  }, [noNet, noStore, ok]);
});
