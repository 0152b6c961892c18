import assert from "node:assert/strict";
import tls from "node:tls";
import { gunzipSync } from "node:zlib";
import { type FakePve, type FakePveOptions, startFakePve } from "./server.ts";
import { type RawResponse, request } from "./testing/client.ts";
import { parseUpid } from "./upid.ts";
import { closeWithHalfOpenConnection } from "../tls/testing/half_open.ts";

/** A fake on a virtual clock, plus a token client that form-encodes like a careful client. */
async function withFake(opts: FakePveOptions, body: (f: Harness) => Promise<void>): Promise<void> {
  let t = 1_750_000_000_000;
  const pve = await startFakePve({ seed: 11, now: () => t, ...opts });
  const auth: Record<string, string> = {
    Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}`,
  };
  const call = (method: string, path: string, params?: Record<string, string>, headers = auth) => {
    const qs = params ? new URLSearchParams(params).toString() : "";
    if (method === "GET" || method === "DELETE") {
      return request(pve.url, pve.caPem, method, `/api2/json${path}${qs ? `?${qs}` : ""}`, {
        headers,
      });
    }
    return request(pve.url, pve.caPem, method, `/api2/json${path}`, { headers, body: qs });
  };
  const h: Harness = {
    pve,
    call,
    data: async (method, path, params) => {
      const r = await call(method, path, params);
      assert.equal(r.status, 200, `${method} ${path}: ${r.status} ${r.reason} ${r.text}`);
      return (r.json as { data: unknown }).data;
    },
    tick: (ms) => {
      t += ms;
    },
    finish: async (upid) => {
      const node = parseUpid(upid)!.node;
      for (let i = 0; i < 1000; i++) {
        const s = (await h.data(
          "GET",
          `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`,
        )) as Record<string, unknown>;
        if (s.status === "stopped") return s;
        const next = pve.model.nextEventAt();
        t = next !== undefined && next > t ? next : t + 100;
      }
      throw new Error("task did not finish");
    },
  };
  try {
    await body(h);
  } finally {
    await pve.close();
  }
}

type Harness = {
  pve: FakePve;
  call: (
    method: string,
    path: string,
    params?: Record<string, string>,
    headers?: Record<string, string>,
  ) => Promise<RawResponse>;
  data: (method: string, path: string, params?: Record<string, string>) => Promise<unknown>;
  tick: (ms: number) => void;
  finish: (upid: string) => Promise<Record<string, unknown>>;
};

const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

Deno.test("authentication failures answer 401 with PVE's reason phrases and empty bodies", async () => {
  await withFake({}, async ({ pve, call }) => {
    const none = await call("GET", "/version", undefined, {});
    assert.equal(none.status, 401);
    assert.equal(none.reason, "No ticket");
    assert.equal(none.text, "");
    assert.equal(none.headers.connection, "close");
    assert.equal(none.headers["content-type"], undefined);
    const bearer = await call("GET", "/version", undefined, { Authorization: "Bearer abc" });
    assert.equal(bearer.reason, "No ticket");
    const wrong = await call("GET", "/version", undefined, {
      Authorization: `PVEAPIToken=${pve.tokenId}=nope`,
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.reason, "Authentication failed!");
    assert.equal(wrong.text, "");
    const spaced = await call("GET", "/version", undefined, {
      Authorization: `PVEAPIToken ${pve.tokenId}=${pve.tokenSecret}`,
    });
    assert.equal(spaced.status, 200);
    assert.deepEqual(spaced.json, {
      data: { version: "8.4.1", release: "8.4", repoid: "2a5fa54a8503f96d" },
    });
    assert.equal(spaced.headers["content-type"], "application/json;charset=UTF-8");
    assert.equal(spaced.headers.server, "pve-api-daemon/3.0");
    pve.auth.revokeToken(pve.tokenId);
    const revoked = await call("GET", "/version");
    assert.equal(revoked.reason, "Authentication failed!");
  });
});

Deno.test("ticket login, cookie auth and CSRF on writes", async () => {
  await withFake({}, async ({ pve, call }) => {
    const bad = await call(
      "POST",
      "/access/ticket",
      { username: "root@pam", password: "wrong" },
      {},
    );
    assert.equal(bad.status, 401);
    assert.equal(bad.reason, "authentication failure");
    assert.deepEqual(bad.json, { data: null, message: "authentication failure\n" });
    const asToken = await call("POST", "/access/ticket", {
      username: "root@pam",
      password: pve.password,
    });
    assert.equal(asToken.status, 403);
    assert.equal(
      asToken.reason,
      "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.",
    );
    const good = await call("POST", "/access/ticket", {
      username: "root",
      realm: "pam",
      password: pve.password,
    }, {});
    const d = (good.json as { data: Record<string, string> }).data;
    assert.equal(d.username, "root@pam");
    assert.match(d.ticket!, /^PVE:root@pam:[0-9A-F]{8}::.+$/);
    assert.match(d.CSRFPreventionToken!, /^[0-9A-F]{8}:[A-Za-z0-9+/]{43}$/);
    const cookie = { Cookie: `PVEAuthCookie=${encodeURIComponent(d.ticket!)}` };
    assert.equal((await call("GET", "/cluster/nextid", undefined, cookie)).status, 200);
    const noCsrf = await call("POST", "/pools", { poolid: "k8s" }, cookie);
    assert.equal(noCsrf.status, 401);
    assert.equal(noCsrf.reason, "Permission denied - invalid csrf token");
    const withCsrf = await call("POST", "/pools", { poolid: "k8s" }, {
      ...cookie,
      CSRFPreventionToken: d.CSRFPreventionToken!,
    });
    assert.equal(withCsrf.status, 200);
    assert.deepEqual(withCsrf.json, { data: null });
    const forged = await call("GET", "/version", undefined, {
      Cookie: "PVEAuthCookie=PVE:root@pam:00000000::xyz",
    });
    assert.equal(forged.reason, "Authentication failed!");
  });
});

Deno.test("parameter errors are 400 with the errors map; unknown methods are 501", async () => {
  await withFake({}, async ({ call }) => {
    const r = await call("POST", "/nodes/pve1/qemu/9000/clone", {
      newid: "99",
      name: "bad_name",
      bogus: "1",
    });
    assert.equal(r.status, 400);
    assert.equal(r.reason, "Parameter verification failed.");
    assert.deepEqual(r.json, {
      data: null,
      message: "Parameter verification failed.\n",
      errors: {
        newid: "invalid format - value does not look like a valid VM ID\n",
        name: "invalid format - value does not look like a valid DNS name\n",
        bogus:
          "property is not defined in schema and the schema does not allow additional properties",
      },
    });
    assert.equal(r.headers.connection, "close");
    const dup = await call("POST", "/nodes/pve1/qemu/9000/clone", { newid: "150", vmid: "9001" });
    assert.deepEqual((dup.json as { errors: unknown }).errors, {
      vmid: "duplicate parameter (already defined in URI) with conflicting values!",
    });
    const post = await call("POST", "/nodes/pve1/qemu/9000/resize", { disk: "scsi0", size: "+1G" });
    assert.equal(post.status, 501);
    assert.equal(post.reason, "Method 'POST /nodes/pve1/qemu/9000/resize' not implemented");
    const bool = await call("POST", "/nodes/pve1/qemu/9000/clone", { newid: "150", full: "true" });
    assert.deepEqual((bool.json as { errors: unknown }).errors, {
      full: "type check ('boolean') failed - got 'true'",
    });
    const missing = await call("GET", "/nodes/pve1/qemu/4242/config");
    assert.equal(missing.status, 500);
    assert.equal(
      missing.reason,
      "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist",
    );
    const unknownNode = await call("GET", "/nodes/nope/qemu");
    assert.equal(unknownNode.status, 500);
    assert.match(unknownNode.reason, /^hostname lookup 'nope' failed - /);
  });
});

Deno.test("nextid is a string; ?vmid= checks one id; the range error names PVE's bounds", async () => {
  await withFake({}, async ({ pve, call, data }) => {
    assert.equal(await data("GET", "/cluster/nextid"), "100");
    assert.equal(await data("GET", "/cluster/nextid", { vmid: "777" }), "777");
    const taken = await call("GET", "/cluster/nextid", { vmid: "9001" });
    assert.equal(taken.status, 400);
    assert.deepEqual(taken.json, {
      data: null,
      message: "Parameter verification failed.\n",
      errors: { vmid: "VM 9001 already exists" },
    });
    pve.model.setNextIdRange(9000, 9001);
    const full = await call("GET", "/cluster/nextid");
    assert.equal(full.status, 500);
    assert.equal(full.reason, "unable to get any free VMID in range [9000, 9001]");
  });
});

Deno.test("clone over HTTP: UPID names the source, task status has no endtime, linked vs full disks", async () => {
  await withFake({}, async ({ data, finish }) => {
    const upid = (await data("POST", "/nodes/pve1/qemu/9000/clone", {
      newid: "101",
      name: "worker-a",
    })) as string;
    assert.match(upid, UPID_RE);
    const running = (await data("GET", `/nodes/pve1/tasks/${upid}/status`)) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(running).sort(), [
      "id",
      "node",
      "pid",
      "pstart",
      "starttime",
      "status",
      "tokenid",
      "type",
      "upid",
      "user",
    ]);
    assert.equal(running.status, "running");
    assert.equal(running.id, "9000");
    assert.equal(running.user, "root@pam");
    assert.equal(running.tokenid, "proxscale");
    const placeholder = (await data("GET", "/nodes/pve1/qemu/101/config")) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(placeholder).sort(), ["description", "digest", "lock"]);
    const done = await finish(upid);
    assert.equal(done.exitstatus, "OK");
    assert.equal("endtime" in done, false);
    const linked = (await data("GET", "/nodes/pve1/qemu/101/config")) as Record<string, unknown>;
    assert.equal(linked.scsi0, "local-lvm:vm-101-disk-0,discard=on,iothread=1,size=32G,ssd=1");
    assert.equal(linked.memory, "2048");
    assert.equal(linked.cores, 2);
    const full = (await data("POST", "/nodes/pve1/qemu/9000/clone", {
      newid: "102",
      full: "1",
      storage: "ceph",
      target: "pve2",
    })) as string;
    assert.equal(parseUpid(full)!.node, "pve1", "a clone task runs on the source node");
    assert.equal((await finish(full)).exitstatus, "OK");
    const moved = (await data("GET", "/nodes/pve2/qemu/102/config")) as Record<string, unknown>;
    assert.equal(moved.scsi0, "ceph:vm-102-disk-0,discard=on,iothread=1,size=32G,ssd=1");
    const log = await data("GET", `/nodes/pve1/tasks/${full}/log`, { start: "0", limit: "50" });
    assert.deepEqual((log as Array<{ t: string }>).at(-1), { n: 2, t: "TASK OK" });
  });
});

Deno.test("create over HTTP stores disk options exactly as PVE; PUT config checks the digest", async () => {
  await withFake({}, async ({ call, data, finish }) => {
    const upid = (await data("POST", "/nodes/pve2/qemu", {
      vmid: "1251",
      name: "zagato-worker-auto-1251",
      memory: "6144",
      cores: "2",
      scsi0: "local-lvm:16,serial=CONTAINERD01,discard=on,ssd=on",
      scsi1: "local-lvm:8,iothread=1",
      ide2: "local-lvm:cloudinit",
      net0: "virtio,bridge=vmbr0,tag=20",
      ipconfig0: "ip=dhcp",
      sshkeys: encodeURIComponent("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq me@host\n"),
      boot: "order=net0",
    })) as string;
    assert.equal((await finish(upid)).exitstatus, "OK");
    const c = (await data("GET", "/nodes/pve2/qemu/1251/config")) as Record<string, unknown>;
    assert.equal(c.scsi0, "local-lvm:vm-1251-disk-0,discard=on,serial=CONTAINERD01,size=16G,ssd=1");
    assert.equal(c.scsi1, "local-lvm:vm-1251-disk-1,iothread=1,size=8G");
    assert.equal(c.ide2, "local-lvm:vm-1251-cloudinit,media=cdrom");
    assert.match(c.net0 as string, /^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,tag=20$/);
    assert.equal(c.ipconfig0, "ip=dhcp");
    assert.equal(c.sshkeys, "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIGq%20me%40host%0A");
    const ok = await call("PUT", "/nodes/pve2/qemu/1251/config", {
      tags: "B;a",
      digest: c.digest as string,
    });
    assert.deepEqual(ok.json, { data: null });
    const stale = await call("PUT", "/nodes/pve2/qemu/1251/config", {
      cores: "4",
      digest: c.digest as string,
    });
    assert.equal(stale.status, 500);
    assert.equal(stale.reason, "checksum mismatch (file change by other user?)");
    assert.deepEqual(stale.json, {
      data: null,
      message: "checksum mismatch (file change by other user?)\n",
    });
    const badKey = await call("POST", "/nodes/pve2/qemu", {
      vmid: "1252",
      sshkeys: "ssh-ed25519 AAAA me",
    });
    assert.deepEqual((badKey.json as { errors: unknown }).errors, {
      sshkeys: "invalid format - invalid urlencoded string: ssh-ed25519 AAAA me\n",
    });
  });
});

Deno.test("a synchronous config call waits for the VM file lock, then fails with got timeout", async () => {
  await withFake({ faults: { lockWaitMs: 60 } }, async ({ call, data, finish }) => {
    const upid = (await data("POST", "/nodes/pve1/qemu/9000/clone", { newid: "120" })) as string;
    const r = await call("POST", "/nodes/pve1/qemu/120/config", { cores: "4" });
    assert.equal(r.status, 500);
    assert.equal(r.reason, "can't lock file '/var/lock/qemu-server/lock-120.conf' - got timeout");
    await finish(upid);
    const cfg = (await data("POST", "/nodes/pve1/qemu/120/config", { cores: "4" })) as string;
    assert.equal(parseUpid(cfg)!.type, "qmconfig");
  });
});

Deno.test("delete: running VMs refuse, DELETE bodies are 501, purge removes the VM", async () => {
  await withFake({}, async ({ pve, call, data, finish }) => {
    await finish((await data("POST", "/nodes/pve1/qemu/9000/clone", { newid: "130" })) as string);
    await finish((await data("POST", "/nodes/pve1/qemu/130/status/start")) as string);
    const running = await call("DELETE", "/nodes/pve1/qemu/130", { purge: "1" });
    assert.equal(running.reason, "VM 130 is running - destroy failed");
    const withBody = await request(pve.url, pve.caPem, "DELETE", "/api2/json/nodes/pve1/qemu/130", {
      headers: { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` },
      body: "purge=1",
    });
    assert.equal(withBody.status, 501);
    assert.equal(withBody.reason, "Unexpected content for method 'DELETE'");
    const cur = (await data("GET", "/nodes/pve1/qemu/130/status/current")) as Record<
      string,
      unknown
    >;
    assert.equal(cur.status, "running");
    assert.deepEqual(cur.ha, { managed: 0 });
    await finish((await data("POST", "/nodes/pve1/qemu/130/status/stop")) as string);
    const del = (await data("DELETE", "/nodes/pve1/qemu/130", {
      purge: "1",
      "destroy-unreferenced-disks": "1",
    })) as string;
    assert.equal(parseUpid(del)!.type, "qmdestroy");
    assert.equal((await finish(del)).exitstatus, "OK");
    const gone = await call("GET", "/nodes/pve1/qemu/130/status/current");
    assert.equal(
      gone.reason,
      "Configuration file 'nodes/pve1/qemu-server/130.conf' does not exist",
    );
  });
});

Deno.test("a token limited by ACLs gets 403 and silently filtered lists", async () => {
  const limited = {
    id: "autoscaler@pve!k8s",
    secret: "s3cret",
    acls: [{ path: "/vms", privs: ["VM.Audit"] }],
  };
  await withFake({ tokens: [limited] }, async ({ call }) => {
    const h = { Authorization: `PVEAPIToken=${limited.id}=${limited.secret}` };
    const clone = await call("POST", "/nodes/pve1/qemu/9000/clone", { newid: "140" }, h);
    assert.equal(clone.status, 403);
    assert.equal(clone.reason, "Permission check failed (/vms/9000, VM.Clone)");
    assert.deepEqual(clone.json, {
      data: null,
      message: "Permission check failed (/vms/9000, VM.Clone)\n",
    });
    const res = (await call("GET", "/cluster/resources", undefined, h)).json as {
      data: Array<{ type: string }>;
    };
    assert.deepEqual([...new Set(res.data.map((e) => e.type))], ["qemu"]);
    const status = await call("GET", "/nodes/pve1/status", undefined, h);
    assert.equal(status.reason, "Permission check failed (/nodes/pve1, Sys.Audit)");
  });
});

Deno.test("faults: injected 5xx (before and after the work), latency, offline host, task failure", async () => {
  await withFake({}, async ({ pve, call, data, finish, tick }) => {
    pve.faults.update({
      errors: [{
        endpoint: "POST /nodes/{node}/qemu/{vmid}/clone",
        status: 503,
        message: "Service Unavailable",
        times: 1,
      }],
    });
    const e = await call("POST", "/nodes/pve1/qemu/9000/clone", { newid: "150" });
    assert.equal(e.status, 503);
    assert.equal(e.reason, "Service Unavailable");
    assert.equal(pve.model.st.vms.has(150), false, "an error before the work changes nothing");
    pve.faults.update({
      errors: [{ endpoint: "POST /nodes/{node}/qemu/{vmid}/clone", after: true, times: 1 }],
    });
    const after = await call("POST", "/nodes/pve1/qemu/9000/clone", { newid: "150" });
    assert.equal(after.status, 500);
    assert.equal(pve.model.st.vms.has(150), true, "reset after processing performs the operation");
    pve.faults.update({ offlineNodes: ["pve3"] });
    const off = await call("GET", "/nodes/pve3/qemu");
    assert.equal(off.status, 595);
    assert.equal(off.reason, "No route to host");
    assert.equal(off.text, "");
    const nodes = (await data("GET", "/nodes")) as Array<Record<string, unknown>>;
    assert.deepEqual(nodes.find((n) => n.node === "pve3"), {
      node: "pve3",
      id: "node/pve3",
      type: "node",
      status: "offline",
      level: "",
      ssl_fingerprint: pve.fingerprint,
    });
    pve.faults.update({
      taskFailures: [{
        type: "qmstart",
        message: "start failed: QEMU exited with code 1",
        times: 1,
      }],
    });
    tick(60_000); // let the clone of 150 complete
    const start = (await data("POST", "/nodes/pve1/qemu/150/status/start")) as string;
    const s = await finish(start);
    assert.equal(s.exitstatus, "start failed: QEMU exited with code 1");
    const log = (await data("GET", `/nodes/pve1/tasks/${start}/log`)) as Array<{ t: string }>;
    assert.equal(log.at(-1)!.t, "TASK ERROR: start failed: QEMU exited with code 1");
    pve.faults.update({ taskFailures: [{ type: "qmclone", killed: true }] });
    const killed = await finish(
      (await data("POST", "/nodes/pve1/qemu/9000/clone", { newid: "151" })) as string,
    );
    assert.equal(killed.exitstatus, "unexpected status");
    assert.equal(
      ((await data("GET", "/nodes/pve1/qemu/151/config")) as Record<string, unknown>).lock,
      "clone",
    );
  });
});

Deno.test("faults with a rate are deterministic for a seed", async () => {
  const run = async () => {
    const statuses: number[] = [];
    await withFake(
      { faults: { errors: [{ endpoint: "GET /cluster/nextid", rate: 0.5 }] } },
      async ({ call }) => {
        for (let i = 0; i < 16; i++) statuses.push((await call("GET", "/cluster/nextid")).status);
      },
    );
    return statuses;
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(a, b);
  assert.ok(a.includes(500) && a.includes(200), `both outcomes occur: ${a}`);
});

Deno.test("older PVE profile: no message field; gzip for large bodies; certificate fingerprint matches", async () => {
  await withFake({ faults: { errorMessageField: false } }, async ({ pve, call }) => {
    const r = await call("GET", "/nodes/pve1/qemu/4242/config");
    assert.deepEqual(r.json, { data: null });
    assert.equal(r.reason, "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist");
    const gz = await new Promise<{ enc: string | undefined; body: unknown }>((resolve, reject) => {
      const u = new URL(pve.apiUrl);
      const sock = tls.connect({
        host: u.hostname,
        port: Number(u.port),
        ca: pve.caPem,
        servername: "localhost",
      }, () => {
        assert.equal(sock.getPeerCertificate().fingerprint256, pve.fingerprint);
        sock.end();
        import("node:https").then(({ default: https }) => {
          const req = https.request({
            host: u.hostname,
            port: u.port,
            path: "/api2/json/cluster/resources",
            ca: pve.caPem,
            agent: false,
            headers: {
              Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}`,
              "Accept-Encoding": "gzip",
            },
          }, (res) => {
            const chunks: Uint8Array[] = [];
            res.on("data", (c: Uint8Array) => chunks.push(c));
            res.on("end", () => {
              const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
              let o = 0;
              for (const c of chunks) (all.set(c, o), o += c.length);
              resolve({
                enc: res.headers["content-encoding"],
                body: JSON.parse(new TextDecoder().decode(gunzipSync(all))),
              });
            });
          });
          req.on("error", reject);
          req.end();
        });
      });
      sock.on("error", reject);
    });
    assert.equal(gz.enc, "gzip");
    assert.ok(Array.isArray((gz.body as { data: unknown[] }).data));
    assert.match(pve.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});

Deno.test("ISO upload by multipart, snippets refused, cdrom attach, volume survives destroy until deleted", async () => {
  await withFake({}, async ({ pve, call, data, finish }) => {
    const multipart = (content: string, filename: string, bytes: Uint8Array) => {
      const b = "----fakepveboundary";
      const enc = new TextEncoder();
      const head = enc.encode(
        `--${b}\r\nContent-Disposition: form-data; name="content"\r\n\r\n${content}\r\n` +
          `--${b}\r\nContent-Disposition: form-data; name="filename"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const tail = enc.encode(`\r\n--${b}--\r\n`);
      const body = new Uint8Array(head.length + bytes.length + tail.length);
      body.set(head);
      body.set(bytes, head.length);
      body.set(tail, head.length + bytes.length);
      return request(pve.url, pve.caPem, "POST", "/api2/json/nodes/pve1/storage/local/upload", {
        headers: { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` },
        body,
        contentType: `multipart/form-data; boundary=${b}`,
      });
    };
    const snip = await multipart(
      "snippets",
      "user.yaml",
      new TextEncoder().encode("#cloud-config\n"),
    );
    assert.equal(snip.status, 400);
    assert.deepEqual((snip.json as { errors: unknown }).errors, {
      content: "value 'snippets' does not have a value in the enumeration 'iso, vztmpl, import'",
    });
    const iso = new Uint8Array(2048 * 4).fill(7);
    const up = await multipart("iso", "cidata-160.iso", iso);
    assert.equal(up.status, 200, up.text);
    assert.equal((await finish((up.json as { data: string }).data)).exitstatus, "OK");
    const content =
      (await data("GET", "/nodes/pve1/storage/local/content", { content: "iso" })) as Array<
        Record<string, unknown>
      >;
    assert.deepEqual(content.map((c) => [c.volid, c.size]), [[
      "local:iso/cidata-160.iso",
      iso.length,
    ]]);
    await finish((await data("POST", "/nodes/pve1/qemu/9000/clone", { newid: "160" })) as string);
    await finish(
      (await data("POST", "/nodes/pve1/qemu/160/config", {
        ide0: "local:iso/cidata-160.iso,media=cdrom",
      })) as string,
    );
    assert.equal(
      ((await data("GET", "/nodes/pve1/qemu/160/config")) as Record<string, unknown>).ide0,
      "local:iso/cidata-160.iso,media=cdrom",
    );
    await finish(
      (await data("DELETE", "/nodes/pve1/qemu/160", {
        purge: "1",
        "destroy-unreferenced-disks": "1",
      })) as string,
    );
    assert.equal(
      ((await data("GET", "/nodes/pve1/storage/local/content", { content: "iso" })) as unknown[])
        .length,
      1,
    );
    const del = (await data(
      "DELETE",
      `/nodes/pve1/storage/local/content/${encodeURIComponent("local:iso/cidata-160.iso")}`,
    )) as string;
    assert.equal((await finish(del)).exitstatus, "OK");
    assert.deepEqual(
      await data("GET", "/nodes/pve1/storage/local/content", { content: "iso" }),
      [],
    );
    const status = (await data("GET", "/nodes/pve1/storage/local-lvm/status")) as Record<
      string,
      unknown
    >;
    assert.equal(status.type, "lvmthin");
    const missing = await call("GET", "/nodes/pve1/storage/nope/status");
    assert.deepEqual((missing.json as { errors: unknown }).errors, { storage: "No such storage." });
  });
});

Deno.test("a rotated certificate changes the fingerprint clients see", async () => {
  await withFake({}, async ({ pve }) => {
    const peer = () =>
      new Promise<string>((resolve, reject) => {
        const u = new URL(pve.url);
        const s = tls.connect(
          { host: u.hostname, port: Number(u.port), rejectUnauthorized: false },
          () => {
            resolve(s.getPeerCertificate().fingerprint256);
            s.end();
          },
        );
        s.on("error", reject);
      });
    assert.equal(await peer(), pve.fingerprint);
    const next = await pve.rotateCertificate();
    assert.notEqual(next, pve.fingerprint);
    assert.equal(await peer(), next);
    assert.equal(pve.model.nodes()[0]!.ssl_fingerprint, next);
  });
});

Deno.test("wire faults: reset, non-JSON, truncated, missing data, wrong type; reset after work performs it", async () => {
  await withFake({}, async ({ pve, call }) => {
    const ep = "GET /cluster/nextid";
    pve.faults.update({ errors: [{ endpoint: ep, kind: "reset", times: 1 }] });
    await assert.rejects(call("GET", "/cluster/nextid"), /reset|socket hang up|ECONNRESET|closed/i);
    pve.faults.update({ errors: [{ endpoint: ep, kind: "nonJson", times: 1 }] });
    const html = await call("GET", "/cluster/nextid");
    assert.equal(html.status, 200);
    assert.equal(html.headers["content-type"], "text/html");
    assert.equal(html.json, undefined);
    pve.faults.update({ errors: [{ endpoint: ep, kind: "truncated", times: 1 }] });
    await assert.rejects(call("GET", "/cluster/nextid"), /aborted|closed|reset|hang up/i);
    pve.faults.update({ errors: [{ endpoint: ep, kind: "missingData", times: 1 }] });
    assert.deepEqual((await call("GET", "/cluster/nextid")).json, { errors: null });
    pve.faults.update({ errors: [{ endpoint: ep, kind: "wrongType", times: 1 }] });
    assert.deepEqual((await call("GET", "/cluster/nextid")).json, { data: 12345 });
    pve.faults.update({
      errors: [{ endpoint: "POST /pools", kind: "reset", after: true, times: 1 }],
    });
    await assert.rejects(call("POST", "/pools", { poolid: "after-reset" }));
    assert.equal(pve.model.st.pools.has("after-reset"), true);
    assert.equal((await call("GET", "/cluster/nextid")).status, 200, "faults with times run out");
    pve.faults.update({ errors: [{ endpoint: ep, kind: "hang", times: 1 }] });
    let settled = false;
    const hung = call("GET", "/cluster/nextid").finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, "a hung request gets no answer");
    const hungFails = assert.rejects(hung);
    await pve.close();
    await hungFails;
  });
});

Deno.test("on the real clock tasks complete once their duration has elapsed; 401s wait the auth delay", async () => {
  const pve = await startFakePve({
    seed: 2,
    faults: { authDelayMs: 60 },
    model: { timing: { durations: { qmclone: 40 }, cloneBytesPerSecond: 1024 ** 4 } },
  });
  try {
    const auth = { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` };
    const r = await request(pve.url, pve.caPem, "POST", "/api2/json/nodes/pve1/qemu/9000/clone", {
      headers: auth,
      body: "newid=300&full=1",
    });
    const upid = (r.json as { data: string }).data;
    let status: Record<string, unknown> = {};
    for (let i = 0; i < 200 && status.status !== "stopped"; i++) {
      await new Promise((res) => setTimeout(res, 10));
      const s = await request(
        pve.url,
        pve.caPem,
        "GET",
        `/api2/json/nodes/pve1/tasks/${upid}/status`,
        { headers: auth },
      );
      status = (s.json as { data: Record<string, unknown> }).data;
    }
    assert.equal(status.exitstatus, "OK");
    const t0 = performance.now();
    const denied = await request(pve.url, pve.caPem, "GET", "/api2/json/version");
    assert.equal(denied.status, 401);
    assert.ok(performance.now() - t0 >= 55, "every 401 is delayed like PVE's");
  } finally {
    await pve.close();
  }
});

Deno.test("close ends a connection whose TLS handshake never finished (a killed client's)", async () => {
  const pve = await startFakePve({ seed: 11 });
  const port = Number(new URL(pve.url).port);
  assert.equal(await closeWithHalfOpenConnection(port, () => pve.close()), "closed");
});
