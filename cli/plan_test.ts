import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { planCommand } from "./plan.ts";

const ARGS = [
  "--config",
  "config.example.yaml",
  "--snapshot",
  "examples/snapshot.yaml",
  "--now",
  "1700000000000",
];

Deno.test("plan prints claims with pool, shape, host, pods and reason, and why pods get none", async () => {
  const io = captureIo();
  assert.equal(await planCommand.run(ARGS, io), 0);
  const out = io.stdout.join("\n");
  assert.match(out, /NODECLAIM\s+POOL\s+SHAPE\s+HOST\s+PODS\s+REASON/);
  assert.match(out, /batch-\w+\s+batch\s+\d+c-\d+Gi\s+pve\d/);
  assert.match(out, /ml\/huge\s+NoShapeFits/);
  assert.match(out, /ops\/pinned\s+NoCompatiblePool/);
});

Deno.test("plan --json is the plan itself, deterministic for a fixed --now", async () => {
  const a = captureIo();
  const b = captureIo();
  await planCommand.run([...ARGS, "--json"], a);
  await planCommand.run([...ARGS, "--json"], b);
  assert.equal(a.stdout.join(""), b.stdout.join(""));
  const plan = JSON.parse(a.stdout.join(""));
  assert.ok(plan.claims.length > 0);
  for (const c of plan.claims) assert.ok(c.reason.message.length > 0);
  // The ingest pods must not share a node: each lands on a different target.
  const ingestTargets = [
    ...plan.placements.filter((p: { pod: string }) => p.pod.startsWith("shop/ingest")).map((
      p: { target: string },
    ) => p.target),
    ...plan.claims.filter((c: { pods: string[] }) =>
      c.pods.some((p) => p.startsWith("shop/ingest"))
    ).map((c: { name: string }) => c.name),
  ];
  assert.equal(new Set(ingestTargets).size, ingestTargets.length);
});

Deno.test("plan with a broken snapshot exits 2 naming line and column", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/s.yaml`, "pods:\n  - name: a\n    requests: { cpu: lots }\n");
    const io = captureIo();
    assert.equal(
      await planCommand.run(["--config", "config.example.yaml", "--snapshot", `${dir}/s.yaml`], io),
      2,
    );
    assert.match(io.stderr.join("\n"), /s\.yaml:3:\d+: pods\[0\]\.requests\.cpu/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
