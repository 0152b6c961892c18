/**
 * The Lease elector against the fake API server over a real socket: one leader among three,
 * MicroTime written with six digits, a clean handover on release, and a leader cut off from the
 * API server stops acting before anyone else can take the lease.
 */
import assert from "node:assert/strict";
import { KubeClient, type KubeError } from "../adapters/kubernetes/client.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { LeaderElector, microTime } from "../adapters/kubernetes/leader_elector.ts";
import type { LeaderConfig } from "../core/leader.ts";
import { err, type Result } from "../core/result.ts";
import { eventually, withFake } from "./testing/kubernetes.ts";

/** Short timings with the same ratios as the 15 s / 10 s / 2 s defaults. */
const cfg: LeaderConfig = {
  leaseDuration: 2500,
  renewDeadline: 1600,
  retryPeriod: 250,
  jitterFactor: 1.2,
};

/** A client that can be cut off from the API server (every request fails fast). */
class PartitionableClient extends KubeClient {
  partitioned = false;
  override requestJson(
    ...args: Parameters<KubeClient["requestJson"]>
  ): Promise<Result<{ status: number; body: unknown }, KubeError>> {
    if (this.partitioned) {
      return Promise.resolve(err({ kind: "Transport", message: "network partition" }));
    }
    return super.requestJson(...args);
  }
}

Deno.test("MicroTime has exactly six fractional digits", () => {
  assert.equal(microTime(Date.parse("2026-11-26T03:40:32.182Z")), "2026-11-26T03:40:32.182000Z");
});

Deno.test("three electors elect one leader; release hands over; a cut-off leader stops before the lease can be taken", async () => {
  await withFake(async (fake) => {
    const clients = [0, 1, 2].map(() => {
      const c = new PartitionableClient(kubeClientFromKubeconfig(fake.kubeconfig()).kc);
      return c;
    });
    const events: string[] = [];
    const violations: string[] = [];
    const electors: LeaderElector[] = [];
    for (let i = 0; i < 3; i++) {
      const e: LeaderElector = new LeaderElector({
        client: clients[i]!,
        namespace: "kube-system",
        name: "proxscale-leader",
        identity: `proxscale-${i}`,
        config: cfg,
        onStartedLeading: () => {
          events.push(`start ${i}`);
          // Nobody else may still be acting at the moment a new leader starts.
          for (const other of electors) {
            if (other !== e && other.isLeader()) violations.push(`${other.identity} still leads`);
          }
        },
        onStoppedLeading: (why) => events.push(`stop ${i}: ${why}`),
      });
      electors.push(e);
    }
    electors.forEach((e) => e.start());
    const leaders = () => electors.filter((e) => e.isLeader());
    try {
      await eventually("one leader", () => leaders().length === 1);
      // Several renew periods later there is still exactly one, and it holds the lease.
      const first = leaders()[0]!;
      await eventually(
        "renewals happen",
        () => fake.requests.filter((q) => q.method === "PUT").length >= 5,
      );
      assert.deepEqual(leaders(), [first]);
      const lease = fake.store.get("leases.coordination.k8s.io", "kube-system", "proxscale-leader");
      assert.ok(lease.ok);
      const spec = (lease.value as unknown as { spec: Record<string, unknown> }).spec;
      assert.equal(spec.holderIdentity, first.identity);
      assert.match(String(spec.renewTime), /\.\d{6}Z$/);
      assert.equal(spec.leaseDurationSeconds, 3);

      // Cut the leader off: it must stop acting by itself, before a follower takes over.
      const i = electors.indexOf(first);
      const cutAt = events.length;
      clients[i]!.partitioned = true;
      await eventually("a new leader", () => leaders().length === 1 && leaders()[0] !== first);
      assert.equal(first.isLeader(), false);
      const stopAt = events.findIndex((e, k) => k >= cutAt && e.startsWith(`stop ${i}:`));
      const nextStart = events.findIndex((e, k) => k > stopAt && e.startsWith("start "));
      assert.ok(stopAt >= 0 && nextStart > stopAt, events.join("\n"));
      assert.match(events[stopAt]!, /no successful renew within 1600 ms/);

      // The old leader comes back as a follower; the new one releases on stop: fast handover.
      clients[i]!.partitioned = false;
      const second = leaders()[0]!;
      const transitionsBefore = events.length;
      await second.stop();
      await eventually(
        "handover after release",
        () => leaders().length === 1 && leaders()[0] !== second,
      );
      assert.ok(events.length > transitionsBefore);
      assert.deepEqual(violations, []);
    } finally {
      for (const e of electors) await e.stop();
    }
    const lease = fake.store.get("leases.coordination.k8s.io", "kube-system", "proxscale-leader");
    assert.ok(lease.ok);
    assert.equal(
      (lease.value as unknown as { spec: { holderIdentity: string } }).spec.holderIdentity,
      "",
      "the last leader released the lease on stop",
    );
  });
});
