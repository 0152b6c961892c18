import assert from "node:assert/strict";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import type { DaemonContext, DecisionReport } from "./context.ts";
import { TOKEN_ID_ANNOTATION } from "./bootstrap.ts";
import { sweepExpiredBootstrapTokens } from "./bootstrap_sweep.ts";
import {
  readMintedTokens,
  recordMintedToken,
} from "../adapters/kubernetes/bootstrap_token_ledger.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { applyShippedRbac } from "../tests/testing/shipped_rbac.ts";
import { eventually } from "../tests/testing/kubernetes.ts";

const HOUR = 3_600_000;
const NS = "proxscale-system";

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

Deno.test("the sweep deletes proxscale's expired join token Secrets by recorded name, as the ServiceAccount, at most once per period", async () => {
  // The fake API server runs the token cleaner on its own clock; the daemon's clock is two
  // hours ahead, so only proxscale's sweep can see these tokens as expired. The daemon calls
  // as its ServiceAccount with the shipped RBAC stored, which grants no list on Secrets.
  const kube = await startFakeKube({ seed: 1 });
  const admin = kubeClientFromKubeconfig(kube.kubeconfig());
  const saToken = await applyShippedRbac(kube, NS);
  const client = kubeClientFromKubeconfig(kube.kubeconfig().replace(kube.token, saToken));
  try {
    for (const k of KINDS) {
      assert.ok(
        kube.store.create(
          "customresourcedefinitions.apiextensions.k8s.io",
          crdObject(k) as never,
          {},
        ).ok,
      );
    }
    const t0 = Date.now();
    for (
      const s of [
        tokenSecret("mine01", t0 + HOUR, true),
        tokenSecret("mine02", t0 + 3 * HOUR, true),
        tokenSecret("claim1", t0 + HOUR, true),
        tokenSecret("admin1", t0 + HOUR, false),
        tokenSecret("unrec1", t0 + HOUR, true),
      ]
    ) {
      assert.ok(kube.store.create("secrets", s, { namespace: "kube-system" }).ok);
    }
    // Recorded: two ids in the ledger (their claims are gone), one on a live NodeClaim, and an
    // administrator's token id that found its way into the ledger (never touched: not ours).
    for (const id of ["mine01", "mine02", "admin1", "gone01"]) {
      assert.ok((await recordMintedToken(client, NS, id, "2030-01-01T00:00:00Z")).ok);
    }
    await eventually(
      "NodeClaims served",
      async () => (await admin.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodeclaims")).ok,
    );
    const made = await admin.requestJson("POST", "/apis/proxscale.io/v1alpha1/nodeclaims", {
      body: {
        apiVersion: "proxscale.io/v1alpha1",
        kind: "NodeClaim",
        metadata: { name: "general-abc12", annotations: { [TOKEN_ID_ANNOTATION]: "claim1" } },
        spec: {
          nodePool: "general",
          machineTemplate: "worker",
          provider: "homelab",
          shape: { name: "4c-8Gi", cpu: "4", memory: "8Gi" },
        },
      },
    });
    assert.ok(made.ok, JSON.stringify(made));
    let now = t0 + 2 * HOUR;
    const reports: DecisionReport[] = [];
    // Only what the sweep touches: the client, the clock, the report and the namespace.
    const ctx = {
      kube: client,
      clock: { now: () => now, sleep: () => Promise.resolve() },
      report: (d: DecisionReport) => reports.push(d),
      bootstrap: { namespace: NS },
    } as unknown as DaemonContext;
    await sweepExpiredBootstrapTokens(ctx, 60_000);
    const names = () => {
      const l = kube.store.list("secrets");
      return l.ok ? l.value.items.map((s) => s.metadata.name).sort() : [];
    };
    assert.deepEqual(names().filter((n) => n?.startsWith("bootstrap-token-")), [
      "bootstrap-token-admin1",
      "bootstrap-token-mine02",
      "bootstrap-token-unrec1",
    ]);
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.reason.code, "BootstrapTokenExpired");
    assert.match(
      reports[0]!.reason.message,
      /bootstrap-token-claim1, bootstrap-token-mine01|bootstrap-token-mine01, bootstrap-token-claim1/,
    );
    // Ids whose Secret is gone left the ledger; the unexpired and the foreign stay.
    assert.deepEqual(await readMintedTokens(client, NS), { ok: true, value: ["mine02", "admin1"] });

    now = t0 + 4 * HOUR; // mine02 expired too, but the period has not passed
    await sweepExpiredBootstrapTokens(ctx, 3 * HOUR);
    assert.ok(names().includes("bootstrap-token-mine02"));
    now = t0 + 5 * HOUR + 1;
    await sweepExpiredBootstrapTokens(ctx, 3 * HOUR);
    assert.ok(!names().includes("bootstrap-token-mine02"));
    // Never a list or watch of Secrets, and nothing the RBAC refused.
    const sa = `system:serviceaccount:${NS}:proxscale`;
    const secretCalls = kube.requests.filter((r) => r.user === sa && r.path.includes("/secrets"));
    assert.ok(secretCalls.length > 0);
    // A GET without a name after /secrets is a list (or, with watch=1, a watch).
    assert.deepEqual(
      secretCalls.filter((r) => r.method === "GET" && /\/secrets\/?$/.test(r.path)),
      [],
    );
    assert.deepEqual(kube.denials.filter((d) => d.user === sa), []);
  } finally {
    await kube.close();
  }
});

Deno.test("a sweep that cannot read the ledger is reported as KubernetesError, not dropped", async () => {
  const reports: DecisionReport[] = [];
  const ctx = {
    kube: {
      requestJson: () =>
        Promise.resolve({
          ok: false,
          error: { kind: "Transport", message: "connection refused" },
        }),
    },
    clock: { now: () => 1_000, sleep: () => Promise.resolve() },
    report: (d: DecisionReport) => reports.push(d),
  } as unknown as DaemonContext;
  await sweepExpiredBootstrapTokens(ctx, 60_000);
  assert.deepEqual(reports.map((r) => [r.what, r.outcome, r.reason.code]), [
    ["BootstrapSweepFailed", "failed", "KubernetesError"],
  ]);
  assert.match(reports[0]!.reason.message, /reading the ledger: .*connection refused/);
});
