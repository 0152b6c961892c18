/**
 * The writers against the fake API server over a real socket: conflicts are retried by
 * re-reading and re-applying (no lost update), eviction blocked by a PDB is retried and never
 * forced unless asked, NodeClaim create/status, node labels/cordon/delete, Events with the
 * decision's reason, bootstrap-token Secrets.
 */
import assert from "node:assert/strict";
import type { FakeKube } from "../fakes/fake_kube/server.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import {
  deleteNode,
  setNodeLabels,
  setNodeUnschedulable,
  updateNodeTaints,
} from "../adapters/kubernetes/node_writer.ts";
import {
  applyNodeClaimStatus,
  createNodeClaim,
  deleteNodeClaim,
  setNodeClaimStatus,
} from "../adapters/kubernetes/nodeclaim_writer.ts";
import { Evictor } from "../adapters/kubernetes/eviction.ts";
import { EventRecorder, nodeClaimSubject, nodeSubject } from "../adapters/kubernetes/events.ts";
import {
  createBootstrapTokenSecret,
  deleteBootstrapTokenSecret,
  deleteExpiredBootstrapTokenSecrets,
} from "../adapters/kubernetes/bootstrap_secrets.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { nodeClaimFromKube } from "../adapters/kubernetes/translate.ts";
import { memoryLog } from "../adapters/kubernetes/log.ts";
import { reason } from "../core/reason.ts";
import { type KubernetesWriter, KubeWriter } from "../adapters/kubernetes/port.ts";
import type { Condition, NodeClaim } from "../core/model.ts";
import { podBody, withFake } from "./testing/kubernetes.ts";

type Obj = {
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
  [k: string]: unknown;
};

function get(fake: FakeKube, ref: string, ns: string | undefined, name: string): Obj {
  const r = fake.store.get(ref, ns, name);
  if (!r.ok) throw new Error(r.error.message);
  return r.value as unknown as Obj;
}

function nodeBody(name: string) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec: { taints: [{ key: "existing", effect: "NoSchedule" }] },
    status: {
      allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

/**
 * A client whose first GET of `path` lets `meanwhile` write to the store before the answer is
 * returned: the read the writer bases its change on is then stale, deterministically.
 */
class RacingClient extends KubeClient {
  raced = 0;
  constructor(kubeconfig: string, private path: string, private meanwhile: () => void) {
    super(kubeClientFromKubeconfig(kubeconfig).kc);
  }
  override async requestJson(
    ...args: Parameters<KubeClient["requestJson"]>
  ): ReturnType<KubeClient["requestJson"]> {
    const r = await super.requestJson(...args);
    if (args[0] === "GET" && args[1] === this.path && this.raced === 0) {
      this.raced++;
      this.meanwhile();
    }
    return r;
  }
}

Deno.test("a taint edit that loses a race re-reads and re-applies: no update is lost", async () => {
  await withFake(async (fake) => {
    fake.store.create("nodes", nodeBody("n1") as never, {});
    const client = new RacingClient(fake.kubeconfig(), "/api/v1/nodes/n1", () => {
      // Another controller adds its taint between our read and our write.
      const n = get(fake, "nodes", undefined, "n1");
      const taints = [...(n.spec!.taints as unknown[]), { key: "other", effect: "NoExecute" }];
      const r = fake.store.update("nodes", { ...n, spec: { ...n.spec, taints } } as never, {});
      if (!r.ok) throw new Error(r.error.message);
    });
    const conflicts: number[] = [];
    const r = await updateNodeTaints(
      client,
      "n1",
      {
        add: [{ key: "proxscale.io/disrupted", effect: "NoSchedule" }],
      },
      Date.now,
      { onConflict: (n) => conflicts.push(n) },
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    assert.deepEqual(conflicts, [1], "exactly one conflict, then success");
    const keys = (get(fake, "nodes", undefined, "n1").spec!.taints as { key: string }[])
      .map((t) => t.key).sort();
    assert.deepEqual(keys, ["existing", "other", "proxscale.io/disrupted"]);
    const patches = fake.requests.filter((q) =>
      q.method === "PATCH" && q.path === "/api/v1/nodes/n1"
    );
    assert.equal(patches.length, 2);
    assert.ok(patches.every((p) => p.contentType === "application/merge-patch+json"));
    // Removing is the same read-modify-write; a no-op edit writes nothing.
    const rm = await updateNodeTaints(client, "n1", {
      remove: [{ key: "other", effect: "NoExecute" }],
    });
    assert.ok(rm.ok && rm.value.changed);
    const again = await updateNodeTaints(client, "n1", {
      remove: [{ key: "other", effect: "NoExecute" }],
    });
    assert.ok(again.ok && !again.value.changed);
  });
});

Deno.test("node labels, cordon and delete send explicit merge patches and honour the UID", async () => {
  await withFake(async (fake, client) => {
    fake.store.create("nodes", nodeBody("n2") as never, {});
    assert.ok((await setNodeLabels(client, "n2", { "proxscale.io/nodepool": "general" })).ok);
    assert.ok((await setNodeUnschedulable(client, "n2", true)).ok);
    let n = get(fake, "nodes", undefined, "n2");
    assert.equal(n.metadata.labels!["proxscale.io/nodepool"], "general");
    assert.equal(n.spec!.unschedulable, true);
    assert.ok((await setNodeLabels(client, "n2", { "proxscale.io/nodepool": null })).ok);
    assert.ok((await setNodeUnschedulable(client, "n2", false)).ok);
    n = get(fake, "nodes", undefined, "n2");
    assert.equal(n.metadata.labels!["proxscale.io/nodepool"], undefined);
    assert.equal(n.spec!.unschedulable, undefined);
    for (const q of fake.requests.filter((q) => q.method === "PATCH")) {
      assert.equal(q.contentType, "application/merge-patch+json");
    }
    const wrongUid = await deleteNode(client, "n2", { uid: "not-the-uid" });
    assert.ok(!wrongUid.ok && wrongUid.error.kind === "Status" && wrongUid.error.code === 409);
    assert.deepEqual(await deleteNode(client, "n2", { uid: n.metadata.uid! }), {
      ok: true,
      value: { existed: true },
    });
    assert.deepEqual(await deleteNode(client, "n2"), { ok: true, value: { existed: false } });
  });
});

/** Creates a Running, Ready pod (status goes through /status, as a kubelet would write it). */
function readyPod(fake: FakeKube, name: string) {
  const c = fake.store.create(
    "pods",
    podBody(name, {
      spec: { nodeName: "n1", containers: [{ name: "c", image: "nginx" }] },
    }) as never,
    {},
  );
  if (!c.ok) throw new Error(c.error.message);
  const p = c.value.object as unknown as Obj;
  const s = fake.store.update("pods", {
    ...p,
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  } as never, { subresource: "status", namespace: "default" });
  if (!s.ok) throw new Error(s.error.message);
  return s.value.object as unknown as Obj;
}

function pdb(fake: FakeKube, minAvailable: number) {
  const r = fake.store.create("poddisruptionbudgets.policy", {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "web-pdb", namespace: "default" },
    spec: { minAvailable, selector: { matchLabels: { app: "web" } } },
  } as never, {});
  if (!r.ok) throw new Error(r.error.message);
}

const quick = { initialMs: 5, maxMs: 40, factor: 2, jitter: 0 };

Deno.test("eviction blocked by a PDB is retried, then ends Blocked: never forced unless asked", async () => {
  await withFake(async (fake, client) => {
    const a = readyPod(fake, "web-a");
    readyPod(fake, "web-b");
    pdb(fake, 2);
    const log = memoryLog();
    const blocked: string[] = [];
    const evictor = new Evictor(client, {
      log,
      backoff: quick,
      minIntervalMs: 0,
      onBlocked: (_p, m) => blocked.push(m),
    });
    const r = await evictor.evict(
      { namespace: "default", name: "web-a", uid: a.metadata.uid! },
      { deadlineMs: 300 },
    );
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "Blocked");
    assert.ok(r.error.attempts >= 3, `only ${r.error.attempts} attempts`);
    assert.match((r.error as { message: string }).message, /disruption budget/);
    assert.equal(blocked.length, r.error.attempts);
    assert.ok(log.entries.every((e) => e.reason === "PdbBlocked"));
    // Nothing deleted the pod: no DELETE was sent, the pod is still there.
    assert.equal(fake.requests.filter((q) => q.method === "DELETE").length, 0);
    assert.ok(fake.store.get("pods", "default", "web-a").ok);
    const evictions = fake.requests.filter((q) => q.path.endsWith("/pods/web-a/eviction"));
    assert.equal(evictions.length, r.error.attempts);
  });
});

Deno.test("eviction retries until the PDB allows it", async () => {
  await withFake(async (fake, client) => {
    const a = readyPod(fake, "web-a");
    readyPod(fake, "web-b");
    pdb(fake, 2);
    const evictor = new Evictor(client, { backoff: quick, minIntervalMs: 0 });
    let refusals = 0;
    const slow = new Evictor(client, {
      backoff: quick,
      minIntervalMs: 0,
      onBlocked: () => {
        // After a few refusals a third replica becomes Ready: the budget now allows one.
        if (++refusals === 3) readyPod(fake, "web-c");
      },
    });
    const r = await slow.evict(
      { namespace: "default", name: "web-a", uid: a.metadata.uid! },
      { deadlineMs: 30_000 },
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    assert.equal(r.value.result, "evicted");
    assert.equal(r.value.attempts, 4);
    const gone = await evictor.evict({ namespace: "default", name: "web-a" });
    assert.ok(gone.ok && (gone.value.result === "gone" || gone.value.result === "evicted"));
    const never = await evictor.evict({ namespace: "default", name: "never-existed" });
    assert.deepEqual(never, { ok: true, value: { result: "gone", attempts: 1 } });
    // A pod no budget covers, re-created under the same name: the UID precondition fails.
    fake.store.create(
      "pods",
      podBody("solo", { metadata: { name: "solo", namespace: "default" } }) as never,
      {},
    );
    const b = await evictor.evict({ namespace: "default", name: "solo", uid: "old-uid" }, {
      deadlineMs: 1000,
    });
    assert.deepEqual(b, { ok: true, value: { result: "replaced", attempts: 1 } });
  });
});

Deno.test("force deletes past the PDB only when asked, with a grace period", async () => {
  await withFake(async (fake, client) => {
    const a = readyPod(fake, "web-a");
    readyPod(fake, "web-b");
    pdb(fake, 2);
    const evictor = new Evictor(client, { backoff: quick, minIntervalMs: 0 });
    const r = await evictor.evict(
      { namespace: "default", name: "web-a", uid: a.metadata.uid! },
      { deadlineMs: 100, force: true },
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    assert.equal(r.value.result, "forced");
    const deletes = fake.requests.filter((q) => q.method === "DELETE");
    assert.equal(deletes.length, 1);
    assert.equal(deletes[0]!.path, "/api/v1/namespaces/default/pods/web-a");
  }, { gracefulDeletion: { scale: 0 } });
});

function installCrds(fake: FakeKube) {
  for (const k of KINDS) {
    const r = fake.store.create(
      "customresourcedefinitions.apiextensions.k8s.io",
      crdObject(k) as never,
      {},
    );
    if (!r.ok) throw new Error(r.error.message);
  }
}

const claim: NodeClaim = {
  name: "general-x1y2z",
  nodePool: "general",
  machineTemplate: "worker",
  provider: "homelab",
  shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * 2 ** 30 },
  createdAt: 0,
  labels: {},
  taints: [],
  startupTaints: [{ key: "proxscale.io/unregistered", effect: "NoExecute" }],
  conditions: [],
};

Deno.test("NodeClaims: idempotent create, condition transitions, conflict-safe status", async () => {
  await withFake(async (fake, client) => {
    installCrds(fake);
    const c1 = await createNodeClaim(client, claim);
    assert.ok(c1.ok && c1.value.created, JSON.stringify(c1));
    const c2 = await createNodeClaim(client, claim);
    assert.ok(c2.ok && !c2.value.created, "a repeated decision does not create a second claim");
    let t = 1_800_000_000_000;
    const now = () => t;
    const launched: Condition = {
      type: "Launched",
      status: "True",
      reason: "Launched",
      message: "VM 9001 created on pve2",
      lastTransitionTime: 0,
    };
    const s1 = await setNodeClaimStatus(client, claim.name, {
      conditions: [launched],
      vmid: 9001,
      host: "pve2",
    }, now);
    assert.ok(s1.ok && s1.value.changed, JSON.stringify(s1));
    t += 60_000;
    const same = await setNodeClaimStatus(client, claim.name, { conditions: [launched] }, now);
    assert.ok(same.ok && !same.value.changed, "an unchanged condition writes nothing");

    // A concurrent writer adds Registered between our read and write; both must survive.
    const path = `/apis/proxscale.io/v1alpha1/nodeclaims/${claim.name}`;
    const racing = new RacingClient(fake.kubeconfig(), path, () => {
      const o = get(fake, "nodeclaims.proxscale.io", undefined, claim.name);
      const conditions = [...(o.status!.conditions as unknown[]), {
        type: "Registered",
        status: "True",
        reason: "Registered",
        message: "node joined",
        lastTransitionTime: "2027-01-15T08:00:00Z",
      }];
      const r = fake.store.update("nodeclaims.proxscale.io", {
        ...o,
        status: { ...o.status, conditions },
      } as never, { subresource: "status" });
      if (!r.ok) throw new Error(r.error.message);
    });
    const conflicts: number[] = [];
    const s2 = await setNodeClaimStatus(
      racing,
      claim.name,
      {
        conditions: [{ ...launched, status: "False", reason: "LaunchFailed", message: "x" }],
      },
      now,
      { onConflict: (n) => conflicts.push(n) },
    );
    assert.ok(s2.ok, JSON.stringify(s2));
    assert.deepEqual(conflicts, [1]);
    const back = nodeClaimFromKube(get(fake, "nodeclaims.proxscale.io", undefined, claim.name));
    assert.ok(back.ok, !back.ok ? back.error : "");
    assert.deepEqual(back.value.conditions.map((c) => [c.type, c.status]), [
      ["Launched", "False"],
      ["Registered", "True"],
    ]);
    assert.equal(back.value.conditions[0]!.lastTransitionTime, Math.floor(t / 1000) * 1000);
    assert.equal(back.value.vmid, 9001);
    assert.equal(back.value.host, "pve2");
    const statusPatches = fake.requests.filter((q) =>
      q.method === "PATCH" && q.path.endsWith("/status")
    );
    assert.ok(statusPatches.every((q) => q.contentType === "application/merge-patch+json"));

    const ssa = await applyNodeClaimStatus(client, claim.name, { nodeName: "general-x1y2z" });
    assert.ok(ssa.ok, JSON.stringify(ssa));
    const applied = fake.requests.at(-1)!;
    assert.equal(applied.contentType, "application/apply-patch+yaml");
    assert.match(applied.query, /fieldManager=proxscale/);

    assert.deepEqual(await deleteNodeClaim(client, claim.name), {
      ok: true,
      value: { existed: true },
    });
    assert.deepEqual(await deleteNodeClaim(client, claim.name), {
      ok: true,
      value: { existed: false },
    });
  });
});

Deno.test("Events carry the decision's reason code and message; repeats bump the count, written at most once a minute", async () => {
  await withFake(async (fake, client) => {
    let t = 1_800_000_000_000;
    const rec = new EventRecorder(client, { instance: "proxscale-0", now: () => t });
    const subject = { apiVersion: "proxscale.io/v1alpha1", kind: "NodePool", name: "general" };
    const why = reason(
      "PoolLimitReached",
      "pool 'general' memory limit 256Gi reached (in use 250Gi, new VM needs 9Gi incl. 1Gi overhead)",
    );
    const e1 = await rec.record(subject, why);
    assert.ok(e1.ok, JSON.stringify(e1));
    // A repeat 5 s later (the next pass) is counted, not written: the object still says 1.
    t += 5000;
    const e2 = await rec.record(subject, why);
    assert.ok(e2.ok && e2.value.count === 2 && e2.value.name === e1.value.name);
    assert.equal(get(fake, "events", "default", e1.value.name).count, 1);
    // A minute after the write, the next repeat writes the count it kept.
    t += 60_000;
    const e3 = await rec.record(subject, why);
    assert.ok(e3.ok && e3.value.count === 3 && e3.value.name === e1.value.name);
    const ev = get(fake, "events", "default", e1.value.name);
    assert.equal(ev.reason, "PoolLimitReached");
    assert.equal(ev.message, why.message);
    assert.equal(ev.type, "Normal", "a pool at its limit is news, not a fault");
    assert.equal(ev.count, 3);
    assert.deepEqual(ev.involvedObject, subject);
    assert.equal(ev.lastTimestamp, "2027-01-15T08:01:05Z");
    const other = await rec.record(subject, reason("Empty", "node n1 has been empty for 5m"));
    assert.ok(other.ok && other.value.name !== e1.value.name);
  });
});

Deno.test("a pass that records 1,000 Events keeps at most 4 writes in flight, writes each once, and the next pass writes none", async () => {
  await withFake(async (fake, client) => {
    let t = 1_800_000_000_000;
    // Requests in flight, counted at the client the recorder writes through.
    let inFlight = 0;
    let most = 0;
    const counting = Object.create(client) as KubeClient;
    counting.requestJson = async (...args: Parameters<KubeClient["requestJson"]>) => {
      most = Math.max(most, ++inFlight);
      try {
        return await client.requestJson(...args);
      } finally {
        inFlight--;
      }
    };
    const rec = new EventRecorder(counting, { now: () => t });
    const why = (i: number) =>
      reason("Paused", `maintenance mode: MarkInitialized of claim-${i} not carried out`);
    const claims = Array.from({ length: 1000 }, (_, i) => `claim-${i}`);
    const eventWrites = () => fake.requests.filter((r) => r.path.includes("/events")).length;
    // As the paused reporter does: fire and forget, one per decision.
    const first = await Promise.all(claims.map((c, i) => rec.record(nodeClaimSubject(c), why(i))));
    assert.ok(first.every((r) => r.ok));
    assert.ok(most <= 4 && most >= 1, `at most 4 writes in flight, saw ${most}`);
    const list = fake.store.list("events");
    assert.ok(list.ok);
    assert.equal(list.value.items.length, 1000, "every Event written");
    const after = eventWrites();
    // The next pass, 5 s later, repeats all of them: counted, nothing written.
    t += 5000;
    const second = await Promise.all(claims.map((c, i) => rec.record(nodeClaimSubject(c), why(i))));
    assert.ok(second.every((r) => r.ok && r.value.count === 2));
    assert.equal(eventWrites(), after);
    // Two occurrences of a new Event before its write runs share one write.
    const a = rec.record(nodeClaimSubject("fresh"), why(-1));
    const b = rec.record(nodeClaimSubject("fresh"), why(-1));
    const [ra, rb] = await Promise.all([a, b]);
    assert.ok(ra.ok && rb.ok && ra.value.name === rb.value.name);
    assert.equal(eventWrites(), after + 1);
  });
});

/** The involvedObject of Event `name` in default. */
function involved(fake: FakeKube, name: string): Record<string, string> {
  return get(fake, "events", "default", name).involvedObject as Record<string, string>;
}

Deno.test("an Event names its object's uid, so kubectl describe (which matches on it) shows it", async () => {
  await withFake(async (fake, client) => {
    const rec = new EventRecorder(client, { now: () => 1_800_000_000_000 });
    const made = await client.requestJson("POST", "/api/v1/nodes", {
      body: { apiVersion: "v1", kind: "Node", metadata: { name: "general-abc12" } },
    });
    assert.ok(made.ok);
    const uid = (made.value.body as { metadata: { uid: string } }).metadata.uid;
    const why = reason("Empty", "node general-abc12 runs no pods that need a home");
    const e = await rec.record(nodeSubject("general-abc12"), why);
    assert.ok(e.ok);
    assert.equal(involved(fake, e.value.name).uid, uid);
    // describe's own query: kind, name, empty namespace and the uid.
    const found = await client.requestJson(
      "GET",
      `/api/v1/events?fieldSelector=${
        encodeURIComponent(
          `involvedObject.name=general-abc12,involvedObject.namespace=,involvedObject.kind=Node,involvedObject.uid=${uid}`,
        )
      }`,
    );
    assert.ok(found.ok);
    assert.deepEqual(
      (found.value.body as { items: { reason: string }[] }).items.map((i) => i.reason),
      ["Empty"],
    );
    // An object that is gone still gets its Event (kubectl get events shows it), without uid.
    const gone = await rec.record(nodeSubject("general-gone1"), why);
    assert.ok(gone.ok);
    const g = involved(fake, gone.value.name);
    assert.equal(g.uid, undefined);
    // A subject that brings its uid (a pod, from the informer) is not read again.
    const reads = () => fake.requests.filter((r) => r.method === "GET").length;
    const before = reads();
    const pod = await rec.record(
      { apiVersion: "v1", kind: "Pod", namespace: "default", name: "web-1", uid: "pod-uid-1" },
      reason("NoShapeFits", "pod needs 64 vCPU"),
    );
    assert.ok(pod.ok);
    assert.equal(reads(), before);
    assert.equal(involved(fake, pod.value.name).uid, "pod-uid-1");
  });
});

Deno.test("the recorder remembers a bounded number of Events, the least recently recorded forgotten first", async () => {
  await withFake(async (fake, client) => {
    const t = 1_800_000_000_000;
    const rec = new EventRecorder(client, { now: () => t, remember: 3 });
    const on = (name: string) =>
      rec.record(nodeClaimSubject(name), reason("Paused", `maintenance mode: ${name} kept`));
    const posts = () =>
      fake.requests.filter((r) => r.method === "POST" && r.path.includes("/events")).length;
    for (const n of ["a", "b", "c"]) assert.ok((await on(n)).ok);
    assert.ok((await on("a")).ok, "a repeat: counted, and now the most recent");
    assert.equal(posts(), 3);
    assert.ok((await on("d")).ok);
    assert.equal(rec.remembered, 3, "b, the least recently recorded, is forgotten");
    assert.ok((await on("a")).ok);
    assert.equal(posts(), 4, "a is still remembered: its repeat writes nothing");
    const again = await on("b");
    assert.ok(
      again.ok && again.value.count === 1,
      "a forgotten Event that recurs starts a new object",
    );
    assert.equal(posts(), 5);
    assert.ok(rec.remembered <= 3);
  });
});

Deno.test("bootstrap-token Secrets: short-lived, usable for bootstrap auth, cleaned up", async () => {
  await withFake(async (fake, client) => {
    const token = { id: "abc123", secret: "0123456789abcdef" };
    const now = Date.now();
    const r = await createBootstrapTokenSecret(client, token, now, 30 * 60_000, {
      nodeClaim: "general-x1y2z",
    });
    assert.ok(r.ok, JSON.stringify(r));
    const s = get(fake, "secrets", "kube-system", "bootstrap-token-abc123");
    assert.equal(s.type, "bootstrap.kubernetes.io/token");
    assert.equal(atob(s.data!["token-secret"]!), "0123456789abcdef");
    assert.equal(
      Date.parse(atob(s.data!.expiration!)),
      Math.floor((now + 30 * 60_000) / 1000) * 1000,
    );
    // The fake's authenticator accepts the token while it is valid (asked as `kubectl auth
    // whoami` asks, which every authenticated user may).
    const res = await fetch(`${fake.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: "POST",
      headers: {
        authorization: "Bearer abc123.0123456789abcdef",
        "content-type": "application/json",
      },
      body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
      client: Deno.createHttpClient({ caCerts: [fake.caPem!] }),
    } as RequestInit);
    assert.equal(res.status, 201);
    assert.equal((await res.json()).status.userInfo.username, "system:bootstrap:abc123");
    const none = await deleteExpiredBootstrapTokenSecrets(client, now, ["abc123"]);
    assert.deepEqual(none, { ok: true, value: { deleted: [], gone: [] } });
    const expired = await deleteExpiredBootstrapTokenSecrets(client, now + 31 * 60_000, [
      "abc123",
    ]);
    assert.deepEqual(expired, {
      ok: true,
      value: { deleted: ["bootstrap-token-abc123"], gone: ["abc123"] },
    });
    assert.deepEqual(await deleteBootstrapTokenSecret(client, "abc123"), {
      ok: true,
      value: { existed: false },
    });
  });
});

Deno.test("KubeWriter drives every write through one client, as the daemon will", async () => {
  await withFake(async (fake, client) => {
    installCrds(fake);
    fake.store.create("nodes", nodeBody("n3") as never, {});
    const w: KubernetesWriter = new KubeWriter(client, { instance: "proxscale-0" });
    assert.deepEqual(await w.createNodeClaim(claim), { ok: true, value: { created: true } });
    const s = await w.setNodeClaimStatus(claim.name, { nodeName: "n3" });
    assert.ok(s.ok && s.value.changed);
    assert.ok((await w.setNodeLabels("n3", { "proxscale.io/nodeclaim": claim.name })).ok);
    assert.ok((await w.setNodeUnschedulable("n3", true)).ok);
    const t = await w.updateNodeTaints("n3", {
      add: [{ key: "proxscale.io/disrupted", effect: "NoSchedule" }],
    });
    assert.ok(t.ok && t.value.changed);
    const e = await w.recordEvent(
      { apiVersion: "v1", kind: "Node", name: "n3" },
      reason("Empty", "node n3 has run no pods for 5m"),
    );
    assert.ok(e.ok);
    const gone = await w.evict({ namespace: "default", name: "nope" });
    assert.ok(gone.ok && gone.value.result === "gone");
    const tok = await w.createBootstrapToken({ id: "zzz999", secret: "aaaaaaaaaaaaaaaa" }, 60_000);
    assert.ok(tok.ok);
    assert.deepEqual(await w.deleteBootstrapToken("zzz999"), {
      ok: true,
      value: { existed: true },
    });
    assert.deepEqual(await w.deleteExpiredBootstrapTokens(["zzz999"]), {
      ok: true,
      value: { deleted: [], gone: ["zzz999"] },
    });
    assert.deepEqual(await w.deleteNode("n3"), { ok: true, value: { existed: true } });
    assert.deepEqual(await w.deleteNodeClaim(claim.name), { ok: true, value: { existed: true } });
  });
});
