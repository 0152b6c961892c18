/**
 * Tests of leader_elector.ts against an in-memory Lease store behind a recording KubeClient (no
 * socket): the Lease it creates and renews (MicroTime with six fractional digits), what
 * `isLeader()` / `leaderUntil()` report after a renew and past the renew deadline, the standing
 * callbacks, following another holder, losing the lease on a conflict, and the release on stop.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import type { LeaderConfig } from "../../core/leader.ts";
import { LeaderElector, microTime } from "./leader_elector.ts";
import { type Answer, type Recorded, recordingClient } from "./testing/recording_client.ts";

const NS = "proxscale-system";
const NAME = "proxscale-leader";
const PATH = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
const T0 = Date.parse("2026-12-07T06:00:00.250Z");
const FAST: LeaderConfig = {
  leaseDuration: 1500,
  renewDeadline: 1000,
  retryPeriod: 20,
  jitterFactor: 1.2,
};
const SIX_DIGITS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

type LeaseBody = {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: Record<string, unknown>;
};

/**
 * A one-Lease API server: GET answers 404 until the Lease exists, POST creates it (409
 * AlreadyExists if it does), PUT replaces it only at the current resourceVersion (409 otherwise).
 * `down` makes every request fail at the transport level.
 */
function leaseServer(initial?: LeaseBody) {
  const s = { lease: initial as LeaseBody | undefined, rv: 1, down: false };
  const answer = (r: Recorded): Answer => {
    if (s.down) return { status: 0, transport: "connection refused" };
    if (r.method === "GET") {
      return s.lease ? { status: 200, body: structuredClone(s.lease) } : {
        status: 404,
        reason: "NotFound",
        message: "leases not found",
      };
    }
    const b = r.body as LeaseBody;
    if (r.method === "POST") {
      if (s.lease) return { status: 409, reason: "AlreadyExists", message: "exists" };
    } else if (b.metadata.resourceVersion !== s.lease?.metadata.resourceVersion) {
      return { status: 409, reason: "Conflict", message: "the object has been modified" };
    }
    s.lease = { ...b, metadata: { ...b.metadata, resourceVersion: String(++s.rv) } };
    return { status: r.method === "POST" ? 201 : 200, body: structuredClone(s.lease) };
  };
  return { s, ...recordingClient(answer) };
}

async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function elector(client: ReturnType<typeof leaseServer>["client"], now?: () => number) {
  const events: string[] = [];
  const standing: number[] = [];
  const e = new LeaderElector({
    client,
    namespace: NS,
    name: NAME,
    identity: "replica-a",
    config: FAST,
    ...(now ? { now } : {}),
    random: () => 0,
    onStartedLeading: () => events.push("started"),
    onStoppedLeading: (why) => events.push(`stopped: ${why}`),
    onStanding: (until) => standing.push(until),
  });
  return { e, events, standing };
}

Deno.test("microTime writes six fractional digits, padding the milliseconds", () => {
  assert.equal(microTime(Date.parse("2026-11-26T03:40:32.182Z")), "2026-11-26T03:40:32.182000Z");
  assert.equal(microTime(Date.parse("2026-01-02T00:00:00Z")), "2026-01-02T00:00:00.000000Z");
  assert.match(microTime(T0 + 7), SIX_DIGITS);
});

Deno.test("an absent Lease is created with this identity and MicroTime stamps, and leadership starts", async () => {
  const srv = leaseServer();
  let clock = T0;
  const { e, events, standing } = elector(srv.client, () => clock);
  assert.equal(e.isLeader(), false);
  assert.equal(e.leaderUntil(), 0);
  e.start();
  await waitFor("leadership", () => events.length > 0);
  assert.deepEqual(events, ["started"]);
  assert.equal(e.isLeader(), true);
  assert.equal(e.leaderUntil(), T0 + FAST.renewDeadline);
  assert.equal(standing.at(-1), T0 + FAST.renewDeadline);
  const post = srv.requests.find((r) => r.method === "POST")!;
  assert.equal(post.path, PATH);
  const spec = (post.body as LeaseBody).spec;
  assert.deepEqual((post.body as LeaseBody).metadata, { name: NAME, namespace: NS });
  assert.equal(spec.holderIdentity, "replica-a");
  assert.equal(spec.leaseDurationSeconds, 2);
  assert.equal(spec.acquireTime, "2026-12-07T06:00:00.250000Z");
  assert.equal(spec.renewTime, "2026-12-07T06:00:00.250000Z");
  assert.equal(spec.leaseTransitions, 0);
  clock = T0 + 1; // keep later stamps apart from the first
  await e.stop();
});

Deno.test("a renew moves leaderUntil to the renew's time plus renewDeadline, at the Lease's resourceVersion", async () => {
  const srv = leaseServer();
  let clock = T0;
  const { e, standing } = elector(srv.client, () => clock);
  e.start();
  await waitFor("leadership", () => e.isLeader());
  clock = T0 + 400;
  const before = srv.requests.length;
  await waitFor("a renew", () => srv.requests.slice(before).some((r) => r.method === "PUT"));
  await waitFor("standing after the renew", () => standing.at(-1) === T0 + 400 + 1000);
  const put = srv.requests.slice(before).find((r) => r.method === "PUT")!;
  assert.equal(put.path, `${PATH}/${NAME}`);
  const body = put.body as LeaseBody;
  assert.equal(body.metadata.resourceVersion, "2");
  assert.equal(body.spec.holderIdentity, "replica-a");
  assert.equal(body.spec.acquireTime, microTime(T0));
  assert.equal(body.spec.renewTime, microTime(T0 + 400));
  assert.equal(e.leaderUntil(), T0 + 1400);
  assert.equal(e.isLeader(), true);
  await e.stop();
});

Deno.test("past renewDeadline without a renew, isLeader turns false with no request returning", async () => {
  const srv = leaseServer();
  let clock = T0;
  const { e } = elector(srv.client, () => clock);
  e.start();
  await waitFor("leadership", () => e.isLeader());
  srv.s.down = true;
  clock = T0 + FAST.renewDeadline - 1;
  assert.equal(e.isLeader(), true);
  clock = T0 + FAST.renewDeadline;
  assert.equal(e.isLeader(), false);
  assert.equal(e.leaderUntil(), T0 + FAST.renewDeadline, "leaderUntil is the deadline itself");
  await e.stop();
  assert.equal(e.leaderUntil(), 0);
});

Deno.test("the deadline timer tells the daemon leadership stopped when renews keep failing", async () => {
  const srv = leaseServer();
  const cfg = { ...FAST, renewDeadline: 150, leaseDuration: 300 };
  const events: string[] = [];
  const standing: number[] = [];
  const e = new LeaderElector({
    client: srv.client,
    namespace: NS,
    name: NAME,
    identity: "replica-a",
    config: cfg,
    random: () => 0,
    onStartedLeading: () => events.push("started"),
    onStoppedLeading: (why) => events.push(`stopped: ${why}`),
    onStanding: (until) => standing.push(until),
  });
  e.start();
  await waitFor("leadership", () => e.isLeader());
  srv.s.down = true;
  await waitFor("the deadline", () => events.length === 2, 2000);
  assert.deepEqual(events, ["started", "stopped: no successful renew within 150 ms"]);
  assert.equal(e.isLeader(), false);
  const last = standing.at(-1)!;
  assert.ok(last > 0 && last <= Date.now(), "the last standing told is a deadline already past");
  await e.stop();
  assert.deepEqual(events.length, 2, "stopping a replica that no longer leads fires nothing");
});

Deno.test("a fresh Lease held by another replica is followed: no write, standing 0", async () => {
  const other: LeaseBody = {
    metadata: { name: NAME, namespace: NS, resourceVersion: "7" },
    spec: {
      holderIdentity: "replica-b",
      leaseDurationSeconds: 60,
      acquireTime: microTime(T0),
      renewTime: microTime(T0),
      leaseTransitions: 3,
    },
  };
  const srv = leaseServer(other);
  const { e, events, standing } = elector(srv.client, () => T0 + 10);
  e.start();
  await waitFor("a few attempts", () => srv.requests.length >= 3);
  assert.ok(srv.requests.every((r) => r.method === "GET"), "a follower only reads");
  assert.equal(e.isLeader(), false);
  assert.deepEqual(events, []);
  assert.ok(standing.length > 0 && standing.every((u) => u === 0));
  await e.stop();
  assert.ok(srv.requests.every((r) => r.method === "GET"), "a follower releases nothing");
  assert.equal(srv.s.lease?.spec.holderIdentity, "replica-b");
});

Deno.test("a conflict on renew means another replica took the lease: leadership stops at once", async () => {
  const srv = leaseServer();
  let clock = T0;
  const { e, events } = elector(srv.client, () => clock);
  e.start();
  await waitFor("leadership", () => e.isLeader());
  // Another writer bumps the resourceVersion under our feet, still naming us.
  srv.s.lease!.metadata.resourceVersion = "99";
  const stale = structuredClone(srv.s.lease!);
  stale.metadata.resourceVersion = "2";
  const origGet = srv.client.requestJson.bind(srv.client);
  let served = false;
  (srv.client as { requestJson: typeof origGet }).requestJson = (m, p, o) => {
    if (m === "GET" && !served) {
      served = true;
      return Promise.resolve({ ok: true, value: { status: 200, body: stale } });
    }
    return origGet(m, p, o);
  };
  clock = T0 + 50;
  await waitFor("the loss", () => events.length === 2);
  assert.deepEqual(events, ["started", "stopped: lost the lease to another replica"]);
  assert.equal(e.isLeader(), false);
  assert.equal(e.leaderUntil(), 0);
  await e.stop();
});

Deno.test("stop releases a held Lease (empty holder, 1 s duration) and ends leadership", async () => {
  const srv = leaseServer();
  let clock = T0;
  const { e, events, standing } = elector(srv.client, () => clock);
  e.start();
  await waitFor("leadership", () => e.isLeader());
  clock = T0 + 300;
  await e.stop();
  assert.deepEqual(events, ["started", "stopped: stopping"]);
  assert.equal(e.isLeader(), false);
  assert.equal(e.leaderUntil(), 0);
  assert.equal(standing.at(-1), 0);
  const last = srv.requests.at(-1)!;
  assert.equal(last.method, "PUT");
  const spec = srv.s.lease!.spec;
  assert.equal(spec.holderIdentity, "");
  assert.equal(spec.leaseDurationSeconds, 1);
  assert.equal(spec.acquireTime, microTime(T0));
  assert.equal(spec.renewTime, microTime(T0 + 300));
  const n = srv.requests.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(srv.requests.length, n, "no request after stop");
});
