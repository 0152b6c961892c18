/**
 * The audit stream and Events of a running `proxscale run` process, against the fake cluster:
 * every VM create, start, stop and delete, every taint, drain and eviction names its NodePool,
 * NodeClaim (and VM or pod) and reason; a failed clone is audited as a failed VmCreate; and the
 * NodeClaim whose launch failed gets a Warning Event with reason LaunchFailed.
 */
import assert from "node:assert/strict";
import { MiB } from "../core/quantity.ts";
import {
  type RunProcess,
  startPlainCluster,
  startRunProcess,
  until,
} from "./testing/run_process.ts";

type Line = Record<string, unknown>;

Deno.test("audit lines name pool, claim, VM and reason for every change, failures included", async () => {
  const cluster = await startPlainCluster(41);
  const dir = await Deno.makeTempDir({ prefix: "proxscale-audit-" });
  let daemon: RunProcess | undefined;
  try {
    // One clone is refused (a definite answer, unlike a lost one the provider would resolve).
    cluster.pve.faults.set({
      errors: [{
        endpoint: "POST /nodes/{node}/qemu/{vmid}/clone",
        times: 1,
        status: 403,
        message: "injected clone failure",
      }],
    });
    daemon = await startRunProcess(cluster, dir);
    cluster.world.deploy({ name: "web", replicas: 6, cpu: 700, memory: 512 * MiB });
    const bound = () => [...cluster.world.pods.values()].filter((p) => p.boundAt).length;
    await until(() => bound() >= 6 && cluster.world.pendingPods() === 0, 60_000, "scale-up");
    // An operator deletes a busy NodeClaim: taint, drain, evictions, then its VM goes.
    const claims = cluster.kube.store.list("nodeclaims.proxscale.io");
    assert.ok(claims.ok);
    const busy = claims.value.items.find((c) =>
      [...cluster.world.pods.values()].some((p) =>
        p.boundAt && p.node === (c as { status?: { nodeName?: string } }).status?.nodeName
      )
    ) as { metadata: { name: string } } | undefined;
    assert.ok(busy, "a NodeClaim with pods");
    cluster.kube.store.delete("nodeclaims.proxscale.io", undefined, busy.metadata.name);
    const deleted = new RegExp(`"action":"VmDelete".*"nodeclaim":"${busy.metadata.name}"`);
    await until(() => deleted.test(daemon!.stdout()), 60_000, "the busy claim's VM deletion");
    cluster.world.scale("web", 0);
    await until(() => cluster.world.liveVms().length === 0, 90_000, "scale-down to 0 VMs");
    await new Promise((r) => setTimeout(r, 500));
    const code = await daemon.stop();
    assert.equal(code, 0);
    const lines: Line[] = daemon.stdout().split("\n").filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    const audit = lines.filter((l) => l.stream === "audit");
    const byAction = (a: string) => audit.filter((l) => l.action === a);
    for (const a of ["VmCreate", "VmStart", "VmStop", "VmDelete", "Taint", "Drain", "Evict"]) {
      assert.ok(byAction(a).length > 0, `an audit line for ${a}`);
    }
    for (const l of audit) {
      assert.equal(l.nodepool, "general", JSON.stringify(l));
      assert.equal(typeof l.reason, "string", JSON.stringify(l));
      assert.ok(String(l.reason_message ?? "").length > 0, JSON.stringify(l));
      assert.ok(typeof l.nodeclaim === "string" && l.nodeclaim !== "", JSON.stringify(l));
      if (String(l.action).startsWith("Vm")) {
        // A create refused before the VM existed names the VMID it tried in its message.
        if (l.outcome === "failed") assert.match(String(l.reason_message), /VM \d+/);
        else assert.equal(typeof l.vmid, "number", JSON.stringify(l));
      }
      if (l.action === "Evict") assert.match(String(l.pod), /^default\//);
    }
    const failed = byAction("VmCreate").filter((l) => l.outcome === "failed");
    assert.equal(failed.length, 1, "the failed clone is audited once");
    assert.match(String(failed[0]!.reason_message), /injected clone failure/);
    // Stop and delete of the busy claim's VM both carry the reason of the deletion.
    const gone = byAction("VmDelete").find((l) => l.nodeclaim === busy.metadata.name);
    assert.ok(gone, "the busy claim's VM deletion is audited");
    assert.ok(byAction("Evict").some((l) => l.nodeclaim === busy.metadata.name), "its evictions");
    // The failed launch is a Warning Event on its NodeClaim.
    const events = cluster.kube.store.list("events");
    assert.ok(events.ok);
    const launchFailed = events.value.items.filter((e) =>
      (e as { reason?: string }).reason === "LaunchFailed"
    ) as { type?: string; involvedObject?: { kind?: string } }[];
    assert.ok(launchFailed.length > 0, "a LaunchFailed Event");
    for (const e of launchFailed) {
      assert.equal(e.type, "Warning");
      assert.equal(e.involvedObject?.kind, "NodeClaim");
    }
  } finally {
    await daemon?.stop();
    await cluster.close();
    await Deno.remove(dir, { recursive: true });
  }
});
