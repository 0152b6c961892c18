import assert from "node:assert/strict";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import { reason } from "../core/reason.ts";
import type { DecisionReport } from "./context.ts";
import {
  MaintenanceMode,
  PAUSED_ANNOTATION,
  pausedAnnotation,
  pausedReporter,
  pausePatch,
} from "./maintenance.ts";

/** A client whose ConfigMap GET answers what `answer()` says. */
function stubKube(answer: () => { status: number; body: unknown }): KubeClient {
  return {
    requestJson: () => {
      const a = answer();
      return Promise.resolve(
        a.status === 200 ? { ok: true, value: { status: 200, body: a.body } } : {
          ok: false,
          error: {
            kind: "Status",
            code: a.status,
            reason: a.status === 404 ? "NotFound" : "Forbidden",
            message: a.status === 404 ? "not found" : "forbidden",
            causes: [],
          },
        },
      );
    },
  } as unknown as KubeClient;
}

const cm = (v?: string) => ({
  metadata: { name: "proxscale-maintenance", annotations: v ? { [PAUSED_ANNOTATION]: v } : {} },
});

Deno.test("either switch pauses; the local one survives a cluster resume", async () => {
  let body = { status: 200, body: cm("true") };
  const changes: boolean[] = [];
  const m = new MaintenanceMode({ kube: stubKube(() => body), now: () => 1000 });
  m.onChange((p) => changes.push(p));
  assert.equal(m.paused(), false);
  await m.refresh();
  assert.equal(m.paused(), true);
  assert.deepEqual(m.state(), { paused: true, local: false, cluster: true, since: 1000 });
  m.setLocal(true);
  body = { status: 200, body: cm("false") };
  await m.refresh();
  assert.equal(m.paused(), true, "still paused by the local switch");
  m.setLocal(false);
  assert.equal(m.paused(), false);
  assert.deepEqual(changes, [true, false]);
});

Deno.test("a missing ConfigMap means not paused; a read error keeps the last value", async () => {
  let answer = { status: 200, body: cm("TRUE") as unknown };
  const m = new MaintenanceMode({ kube: stubKube(() => answer) });
  await m.refresh();
  assert.equal(m.paused(), true);
  answer = { status: 403, body: undefined };
  await m.refresh();
  assert.equal(m.paused(), true, "a 403 does not resume");
  assert.match(m.state().error!, /forbidden/);
  answer = { status: 404, body: undefined };
  await m.refresh();
  assert.equal(m.paused(), false);
  assert.equal(m.state().error, undefined);
});

Deno.test("pause and resume patches set and remove the annotation", () => {
  const p = pausePatch(true, "alice", Date.UTC(2026, 0, 1));
  assert.equal(p.metadata.annotations[PAUSED_ANNOTATION], "true");
  assert.equal(p.metadata.annotations["proxscale.io/paused-by"], "alice");
  assert.ok(pausedAnnotation(p));
  const r = pausePatch(false, "alice", 0);
  assert.equal(r.metadata.annotations[PAUSED_ANNOTATION], null);
  assert.ok(!pausedAnnotation(r));
  assert.ok(!pausedAnnotation(undefined));
});

Deno.test("HTTP switch: POST /pause and /resume, GET answers the state, PUT is refused", async () => {
  const m = new MaintenanceMode();
  const routes = m.routes();
  const call = async (path: string, method: string) => {
    const res = await routes[path]!(new Request(`http://x${path}`, { method }));
    return { status: res.status, body: await res.json() };
  };
  assert.deepEqual((await call("/pause", "POST")).body.paused, true);
  assert.equal(m.paused(), true);
  assert.deepEqual((await call("/pause", "GET")).body.local, true);
  assert.equal((await call("/resume", "PUT")).status, 405);
  assert.equal(m.paused(), true);
  assert.deepEqual((await call("/resume", "POST")).body.paused, false);

  // In a cluster the HTTP switch is read-only.
  const ro = new MaintenanceMode().routes({ writable: false });
  const res = ro["/pause"]!(new Request("http://x/pause", { method: "POST" }));
  assert.equal(res.status, 403);
  assert.match((await res.json()).error, /proxscale pause --kubeconfig/);
});

Deno.test("while paused, dry-run decisions are reported and evented with reason Paused", () => {
  const out: DecisionReport[] = [];
  const events: string[] = [];
  let paused = true;
  const report = pausedReporter((d) => out.push(d), () => paused, {
    record: (s, r) => {
      events.push(`${s.kind}/${s.name} ${r.code}`);
      return Promise.resolve();
    },
  });
  const d: DecisionReport = {
    time: 1,
    what: "LaunchClaim",
    nodeclaim: "general-x",
    reason: reason("PodsPending", "3 pods pending"),
    dryRun: true,
  };
  report(d);
  assert.equal(out[0]!.reason.code, "Paused");
  assert.equal(
    out[0]!.reason.message,
    "maintenance mode: LaunchClaim not carried out (PodsPending: 3 pods pending)",
  );
  assert.deepEqual(events, ["NodeClaim/general-x Paused"]);
  // Acting, or a follower's dry run while not paused: passed through untouched.
  report({ ...d, dryRun: false });
  paused = false;
  report(d);
  assert.equal(out[1]!.reason.code, "PodsPending");
  assert.equal(out[2]!.reason.code, "PodsPending");
  assert.equal(events.length, 1);
});
