import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

Deno.test("with OTEL_DENO=true spans reach Deno's exporter and /metrics still has our counters", async () => {
  const probe = fileURLToPath(new URL("./testing/otel_deno_probe.ts", import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", probe],
    env: { OTEL_DENO: "true", OTEL_EXPORTER_OTLP_PROTOCOL: "console", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  const span =
    /SPAN action LaunchClaim \[([0-9a-f]{32})\/[0-9a-f]{16}\][^]*?proxscale\.reason: PodsPending/
      .exec(text);
  assert.ok(span, `no LaunchClaim span with its reason in:\n${text}`);
  assert.match(text, new RegExp(`SPAN reconcile \\[${span[1]}/`), "reconcile is in the same trace");
  assert.match(text, /proxscale\.nodeclaim: general-x7k2p/);
  const metrics = /PROBE_METRICS (.*)/.exec(text);
  assert.ok(metrics);
  assert.match(
    JSON.parse(metrics[1]!),
    /proxscale_nodeclaims_created_total\{nodepool="general",reason="PodsPending"\} 1/,
  );
  const log = /PROBE_LOG (\{.*\})/.exec(text);
  assert.equal(JSON.parse(log![1]!).trace_id, span[1], "the log line carries the span's trace id");
});
