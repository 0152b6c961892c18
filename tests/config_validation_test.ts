/**
 * Broken configurations: each must be refused with exit code 2 and a message that names
 * file:line:column and the field, never a stack trace.
 */
import assert from "node:assert/strict";
import { captureIo } from "../cli/command.ts";
import { validateCommand } from "../cli/validate.ts";

const DIR = "tests/fixtures/bad_configs";
const CASES: [file: string, where: string, says: string][] = [
  ["malformed.yaml", ":4:1:", "YAML syntax"],
  ["duplicate_key.yaml", ":3:5:", "Map keys must be unique"],
  ["wrong_type.yaml", ":74:15: nodePools[0].spec.weight:", 'must be number, got "fifty"'],
  ["unknown_field.yaml", ":79:7: nodePools[0].spec.maxNodez:", "unknown field"],
  ["negative_quantity.yaml", ":77:36: nodePools[0].spec.limits.memory:", "must not be negative"],
  [
    "bad_duration.yaml",
    ":83:27: nodePools[0].spec.disruption.consolidateAfter:",
    "must be a duration",
  ],
  [
    "unknown_reference.yaml",
    ":73:24: nodePools[0].spec.machineTemplate:",
    'no MachineTemplate named "wrker"',
  ],
  [
    "impossible_requirements.yaml",
    ":76:9: nodePools[0].spec.requirements:",
    "the pool can never make a node: requirement on kubernetes.io/arch contradicts",
  ],
  ["inverted_range.yaml", ":33:18: providers[0].spec.vmidRange:", "lower must not exceed upper"],
  ["fractional_cores.yaml", ":44:18: machineTemplates[0].spec.shapes[0].cpu:", "whole cores"],
  ["empty_lists.yaml", ":1:12: providers:", "needs at least 1 entry"],
  [
    "unknown_template_variable.yaml",
    ":64:24: machineTemplates[0].spec.bootstrap.userData:",
    'unknown variable "node.nmae", did you mean node.name?',
  ],
  // YAML's own traps: each is a located problem, never "internal error".
  ["undefined_alias.yaml", ":3:12:", "alias *homelab refers to no anchor &homelab"],
  ["alias_bomb.yaml", ":5:38:", "aliases expand to more than 10000 values (an alias bomb)"],
  ["two_documents.yaml", ":103:1:", "a second YAML document starts here (the file holds 2)"],
  ["custom_tag.yaml", ":7:12:", "unknown YAML tag !!python/object:x"],
  // A byte order mark is allowed and shifts no position: the same line:col as wrong_type.yaml.
  ["bom_wrong_type.yaml", ":74:15: nodePools[0].spec.weight:", 'must be number, got "fifty"'],
];

for (const [file, where, says] of CASES) {
  Deno.test(`validate refuses ${file} naming ${where.trim()}`, async () => {
    const io = captureIo();
    const code = await validateCommand.run([`${DIR}/${file}`], io);
    assert.equal(code, 2);
    const text = io.stderr.join("\n");
    const line = io.stderr.find((l) => l.includes(where));
    assert.ok(line, `expected a line with ${where} in:\n${text}`);
    assert.ok(line.includes(says), `expected "${says}" in: ${line}`);
    assert.ok(!/\bat .*\.ts:\d+/.test(text), "no stack trace");
  });
}

Deno.test("validate accepts the commented example configuration", async () => {
  const io = captureIo();
  assert.equal(await validateCommand.run(["config.example.yaml"], io), 0);
  assert.match(io.stdout.join("\n"), /valid \(1 provider/);
});

Deno.test("the example configuration is valid for its three hosts without a template-locality warning", async () => {
  const io = captureIo();
  assert.equal(await validateCommand.run(["config.example.yaml"], io), 0);
  assert.ok(!io.stdout.some((l) => /warning/.test(l)), io.stdout.join("\n"));
});

Deno.test("validate warns when one templateVmid serves several hosts and names the diagnose check", async () => {
  const example = await Deno.readTextFile("config.example.yaml");
  const shared = example.replace(
    /perHost: \{ pve1: 8000, pve2: 8001, pve3: 8002 \}/,
    "templateVmid: 8000",
  );
  assert.notEqual(shared, example);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.yaml`, shared);
    const io = captureIo();
    assert.equal(await validateCommand.run([`${dir}/c.yaml`], io), 0, "a warning, not an error");
    const warning = io.stdout.find((l) => /warning/.test(l));
    assert.ok(warning, io.stdout.join("\n"));
    assert.match(warning, /template VM 8000 is cloned for 3 hosts \(pve1, pve2, pve3\)/);
    assert.match(warning, /template locality/);
    assert.match(warning, /perHost/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing file is a clear error with exit 2", async () => {
  const io = captureIo();
  assert.equal(await validateCommand.run(["does/not/exist.yaml"], io), 2);
  assert.match(io.stderr[0]!, /does\/not\/exist\.yaml:1:1: file not found/);
});

Deno.test("the CLI process exits 2 on a broken config and prints no stack trace", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "validate", `${DIR}/negative_quantity.yaml`],
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 2);
  const err = new TextDecoder().decode(out.stderr);
  assert.match(
    err,
    /negative_quantity\.yaml:77:36: nodePools\[0\]\.spec\.limits\.memory: must not be negative/,
  );
  assert.doesNotMatch(err, /Error| {4}at /);
});
