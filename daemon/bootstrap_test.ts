import assert from "node:assert/strict";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import type { DaemonContext, DecisionReport } from "./context.ts";
import { seedIsoRef, sweepExpiredBootstrapTokens } from "./bootstrap.ts";
import { template } from "../adapters/proxmox/testing/fixtures.ts";

const HOUR = 3_600_000;

function tokenSecret(id: string, expiresAt: number, mine: boolean) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `bootstrap-token-${id}`,
      namespace: "kube-system",
      ...(mine ? { labels: { "app.kubernetes.io/managed-by": "proxscale" } } : {}),
    },
    type: "bootstrap.kubernetes.io/token",
    data: {
      "token-id": btoa(id),
      "token-secret": btoa("0123456789abcdef"),
      expiration: btoa(new Date(expiresAt).toISOString().replace(/\.\d+Z$/, "Z")),
    },
  };
}

Deno.test("the sweep deletes proxscale's expired join token Secrets only, at most once per period", async () => {
  // The fake API server runs the token cleaner on its own clock; the daemon's clock is two
  // hours ahead, so only proxscale's sweep can see these tokens as expired.
  const kube = await startFakeKube({ seed: 1 });
  const client = KubeClient.fromKubeconfig(kube.kubeconfig());
  try {
    const t0 = Date.now();
    for (
      const s of [
        tokenSecret("mine01", t0 + HOUR, true),
        tokenSecret("mine02", t0 + 3 * HOUR, true),
        tokenSecret("admin1", t0 + HOUR, false),
      ]
    ) {
      assert.ok(kube.store.create("secrets", s, { namespace: "kube-system" }).ok);
    }
    let now = t0 + 2 * HOUR;
    const reports: DecisionReport[] = [];
    // Only what the sweep touches: the client, the clock and the report.
    const ctx = {
      kube: client,
      clock: { now: () => now, sleep: () => Promise.resolve() },
      report: (d: DecisionReport) => reports.push(d),
    } as unknown as DaemonContext;
    await sweepExpiredBootstrapTokens(ctx, 60_000);
    const names = () => {
      const l = kube.store.list("secrets");
      return l.ok ? l.value.items.map((s) => s.metadata.name).sort() : [];
    };
    assert.deepEqual(names(), ["bootstrap-token-admin1", "bootstrap-token-mine02"]);
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.reason.code, "BootstrapTokenExpired");
    assert.match(reports[0]!.reason.message, /bootstrap-token-mine01/);

    now = t0 + 4 * HOUR; // mine02 expired too, but the period has not passed
    await sweepExpiredBootstrapTokens(ctx, 3 * HOUR);
    assert.deepEqual(names(), ["bootstrap-token-admin1", "bootstrap-token-mine02"]);
    now = t0 + 5 * HOUR + 1;
    await sweepExpiredBootstrapTokens(ctx, 3 * HOUR);
    assert.deepEqual(names(), ["bootstrap-token-admin1"]);
  } finally {
    await kube.close();
  }
});

Deno.test("only nocloudIso has a seed ISO, named after the claim on the template's iso storage", () => {
  assert.equal(seedIsoRef(template, "a"), undefined, "pveCloudInit uses PVE's own drive");
  assert.deepEqual(
    seedIsoRef({ ...template, bootstrap: { mode: "nocloudIso", isoStorage: "isos" } }, "g-1"),
    { storage: "isos", slot: "ide3", name: "proxscale-cidata-g-1.iso" },
  );
  assert.equal(
    seedIsoRef({ ...template, bootstrap: { mode: "nocloudIso" } }, "g-1")?.storage,
    "local",
  );
});
