/**
 * docs/configuration.md is generated from the zod schema and must stay current: the committed
 * file equals `configurationReference()` (up to deno fmt's line wrapping), and the generator
 * reports each field's type, default, validation and description.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { configurationReference, fields } from "../adapters/config/docs.ts";
import {
  configFile,
  machineTemplateSpec,
  nodePoolSpec,
  providerSpec,
} from "../adapters/config/schema.ts";

const root = new URL("../", import.meta.url);

/** deno fmt re-wraps prose at 100 columns; compare block by block with lines joined. */
function blocks(md: string): string[] {
  return md.split(/\n\s*\n/).map((b) => b.split("\n").map((l) => l.trim()).join(" ").trim())
    .filter(Boolean);
}

Deno.test("docs/configuration.md is what the schema generates (run: deno task docs)", async () => {
  const committed = await Deno.readTextFile(new URL("docs/configuration.md", root));
  const want = blocks(configurationReference());
  const got = blocks(committed);
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    assert.equal(
      got[i],
      want[i],
      `docs/configuration.md is stale at block ${i}: run npx -y deno@2.9.6 task docs`,
    );
  }
});

Deno.test("every schema field of every kind has a heading in the reference", () => {
  const doc = configurationReference();
  const headings = new Set([...doc.matchAll(/^### `([^`]+)`$/gm)].map((m) => m[1]));
  const expected = [
    ...fields(providerSpec, "spec"),
    ...fields(machineTemplateSpec, "spec"),
    ...fields(nodePoolSpec, "spec"),
  ].map((f) => f.path);
  assert.ok(expected.length > 100, `only ${expected.length} fields found`);
  for (const p of expected) assert.ok(headings.has(p), `${p} is not documented`);
  for (
    const p of [
      "spec.vmidRange.lower",
      "spec.disruption.budgets[].schedule",
      "spec.source.clone.perHost",
      "settings.scaleDownRules.skipNodesWithSystemPods",
      "queue.redis.password",
    ]
  ) {
    assert.ok(headings.has(p), p);
  }
  assert.ok(fields(configFile, "").length > 0);
});

Deno.test("a field's type, default, bounds, pattern message and description are reported", () => {
  const s = z.strictObject({
    size: z.int().min(2).max(9).default(3).describe("how many"),
    mode: z.enum(["a", "b"]).optional(),
    tag: z.string().regex(/^x+$/, { error: "must be x's" }),
    items: z.array(z.strictObject({ k: z.string() })).min(1),
  });
  const f = Object.fromEntries(fields(s, "spec").map((d) => [d.path, d]));
  assert.deepEqual(f["spec.size"], {
    path: "spec.size",
    type: "integer",
    required: false,
    default: 3,
    validation: ["≥ 2", "≤ 9"],
    description: "how many",
  });
  assert.equal(f["spec.mode"]!.type, "one of `a`, `b`");
  assert.equal(f["spec.mode"]!.required, false);
  assert.deepEqual(f["spec.tag"]!.validation, ["must be x's (pattern `/^x+$/`)"]);
  assert.equal(f["spec.items"]!.type, "list of object");
  assert.equal(f["spec.items[].k"]!.required, true);
});

Deno.test("object-level rules of the schema reach the reference", () => {
  const doc = configurationReference();
  for (
    const rule of [
      "lower must not exceed upper",
      "needs at least one entry in shapes or a flexible range",
      "clone needs templateVmid or perHost",
      "schedule and duration go together",
      "operator `In` needs at least one value",
      "must be an https:// URL such as https://pve1.lan:8006",
    ]
  ) {
    assert.ok(doc.includes(rule), rule);
  }
});

/** A fragment of each troubleshooting message in docs/operations.md, and where the code says it. */
const TROUBLESHOOTING: [fragment: string, file: string][] = [
  ["must be an https:// URL such as https://pve1.lan:8006", "adapters/config/schema.ts"],
  ["no MachineTemplate named", "adapters/config/load.ts"],
  ["exceeds limits.nodes", "adapters/config/load.ts"],
  ["is not set", "adapters/proxmox/secret.ts"],
  ["cannot be read (", "adapters/proxmox/secret.ts"],
  [
    "the API token id or secret was rejected, check both (PVE gives no further detail)",
    "adapters/proxmox/errors.ts",
  ],
  ["does not match the ", "adapters/proxmox/tls_agent.ts"],
  ["pinned fingerprint", "adapters/proxmox/tls_agent.ts"],
  ["no credentials were sent", "adapters/proxmox/tls_agent.ts"],
  ["TLS refused: ", "adapters/proxmox/transport.ts"],
  ["connection failed (", "adapters/proxmox/transport.ts"],
  ["is open after ", "adapters/proxmox/client.ts"],
  ["is exhausted: all ", "core/vmid.ts"],
  ["reserved for launches in flight, or quarantined after a recent delete", "core/vmid.ts"],
  ["memory limit ", "core/limits.ts"],
  ["no Proxmox host can take the VM", "core/placement.ts"],
  ["the largest VM of pool", "core/provisioning.ts"],
  ["stopped leading: ", "adapters/kubernetes/leader_elector.ts"],
  ["transport: ", "adapters/kubernetes/client.ts"],
  ["cannot start: ", "daemon/startup_checks.ts"],
  ["is not installed", "daemon/startup_checks.ts"],
  ["is already in use", "daemon/startup_checks.ts"],
  ["the cluster CA or credentials cannot be read: ", "daemon/startup_checks.ts"],
  ["the PVE API at ", "daemon/startup_checks.ts"],
  ["is unreachable", "daemon/startup_checks.ts"],
  ["fail and retrying will not help", "daemon/launch_guard.ts"],
  ["template locality", "cli/diagnose_pve.ts"],
];

Deno.test("operations.md quotes troubleshooting messages the code really prints", async () => {
  const ops = await Deno.readTextFile(new URL("docs/operations.md", root));
  for (const [fragment, file] of TROUBLESHOOTING) {
    const source = await Deno.readTextFile(new URL(file, root));
    assert.ok(source.includes(fragment), `${file} no longer says "${fragment}"`);
    assert.ok(ops.includes(fragment), `docs/operations.md does not quote "${fragment}"`);
  }
});

/** The sh block under the heading "Install in a cluster", line by line (continuations joined). */
function installSequence(doc: string): string[] {
  const m = /^#+ Install in a cluster\n[\s\S]*?```sh\n([\s\S]*?)```/m.exec(doc);
  assert.ok(m, 'a ```sh block under a heading "Install in a cluster"');
  return m[1]!.replace(/\\\n\s*/g, " ").split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

Deno.test("operations.md has a copy-paste install sequence whose proxscale options exist", async () => {
  const ops = await Deno.readTextFile(new URL("docs/operations.md", root));
  const lines = installSequence(ops);
  const image = /^IMAGE=(\S+)$/.exec(lines[0] ?? "")?.[1];
  assert.ok(image, "the sequence starts by setting IMAGE");
  assert.match(image, /^registry\.example\.com\//, "with the registry placeholder to replace");
  assert.ok(lines.includes("kubectl apply -f deploy/crds/"), "CRDs first");
  const manifests = lines.find((l) => l.startsWith("proxscale manifests "));
  assert.ok(manifests, "the workload from proxscale manifests");
  const args = manifests.split("|")[0]!.trim().split(/\s+/).slice(2)
    .map((a) => a.replace('"$IMAGE"', image));
  const { parseManifestArgs } = await import("../cli/manifests.ts");
  const parsed = parseManifestArgs(args);
  assert.ok("options" in parsed, JSON.stringify(parsed));
  assert.equal(parsed.options.image, image);
  assert.ok(lines.some((l) => l.includes("create secret generic proxscale-pve-token")));
  assert.ok(lines.some((l) => l.includes("get lease proxscale-leader")), "ends on the Lease");
});
