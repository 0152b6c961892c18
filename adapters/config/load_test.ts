/**
 * Tests of load.ts: a small YAML text in, the normalised Config or the problems out, each
 * located at file:line:column with the field's path.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import {
  type ConfigProblem,
  formatProblem,
  loadConfigFile,
  parseConfigText,
  pathText,
} from "./load.ts";

const GOOD = `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006/
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts:
        - name: pve1
      vmidRange: { lower: 9000, upper: 9099 }
machineTemplates:
  - name: worker
    spec:
      provider: home
      source: { clone: { templateVmid: 8000 } }
      shapes:
        - { cpu: 4, memory: 8Gi }
        - { cpu: 2, memory: 4Gi }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
`;

/** The problems of a text that must be refused. */
function problems(text: string): ConfigProblem[] {
  const r = parseConfigText(text, "c.yaml");
  assert.ok(!r.ok, "the text should be refused");
  return r.error;
}

/** Where and what: "line:col path: message". */
function where(p: ConfigProblem): string {
  return `${p.line}:${p.col} ${p.path}: ${p.message}`;
}

Deno.test("a valid text becomes a normalised Config", () => {
  const r = parseConfigText(GOOD, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  assert.equal(r.value.providers[0]!.endpoint, "https://pve.example:8006");
  assert.deepEqual(r.value.machineTemplates[0]!.shapes.map((s) => s.name), ["2c-4Gi", "4c-8Gi"]);
  assert.equal(r.value.nodePools[0]!.machineTemplate, "worker");
  assert.equal(r.value.settings.launchTimeout, 600_000);
});

Deno.test("an unknown key is located at the key itself", () => {
  const text = GOOD.replace(
    "      machineTemplate: worker\n",
    "      machineTemplate: worker\n      maxNodez: 3\n",
  );
  assert.deepEqual(problems(text).map(where), ["22:7 nodePools[0].spec.maxNodez: unknown field"]);
});

Deno.test("a value of the wrong type is located at the value and says what it got", () => {
  const text = GOOD.replace("lower: 9000", 'lower: "ninety"');
  assert.deepEqual(problems(text).map(where), [
    '9:27 providers[0].spec.vmidRange.lower: must be number, got "ninety"',
  ]);
});

Deno.test("a missing required field is located at the nearest map that exists", () => {
  const text = GOOD.replace("      tokenId: root@pam!proxscale\n", "");
  const [p, ...rest] = problems(text);
  assert.equal(rest.length, 0);
  assert.equal(p!.path, "providers[0].spec.tokenId");
  assert.match(p!.message, /^is required/);
  assert.deepEqual([p!.line, p!.col], [4, 7], "the spec map starts at its first key");
});

Deno.test("a bad eviction threshold is located at its value", () => {
  const text = GOOD.replace(
    "      source: { clone: { templateVmid: 8000 } }\n",
    "      source: { clone: { templateVmid: 8000 } }\n      evictionHard: { memory: lots }\n",
  );
  assert.deepEqual(problems(text).map(where), [
    "15:31 machineTemplates[0].spec.evictionHard.memory: must be a Kubernetes quantity such as 500m, 2, 4Gi or 512Mi",
  ]);
});

Deno.test("several schema problems come out in source order", () => {
  const text = GOOD.replace("lower: 9000", "lower: 1").replace(
    "machineTemplate: worker",
    "machineTemplate: worker\n      weight: 500",
  );
  const got = problems(text);
  assert.deepEqual(got.map((p) => p.line), [9, 22]);
  assert.match(got[1]!.message, /at most 100/);
});

Deno.test("a pool naming an unknown template is located at the name and lists the known ones", () => {
  const text = GOOD.replace("machineTemplate: worker", "machineTemplate: wrker");
  assert.deepEqual(problems(text).map(where), [
    '21:24 nodePools[0].spec.machineTemplate: no MachineTemplate named "wrker" (known: worker)',
  ]);
});

Deno.test("a template naming an unknown provider and a host listed twice are both reported", () => {
  const text = GOOD.replace("provider: home", "provider: away").replace(
    "        - name: pve1\n",
    "        - name: pve1\n        - name: pve1\n",
  );
  const got = problems(text).map(where);
  assert.equal(got.length, 2, got.join("\n"));
  assert.ok(got.includes('9:17 providers[0].spec.hosts[1].name: host "pve1" is listed twice'));
  assert.ok(
    got.includes(
      '14:17 machineTemplates[0].spec.provider: no Provider named "away" (known: home)',
    ),
  );
});

Deno.test("fractional cores and minNodes above the node limit are refused at their fields", () => {
  const text = GOOD.replace("cpu: 2,", "cpu: 1500m,").replace(
    "machineTemplate: worker",
    "machineTemplate: worker\n      minNodes: 3\n      limits: { nodes: 2 }",
  );
  const got = problems(text);
  assert.deepEqual(got.map((p) => p.path), [
    "machineTemplates[0].spec.shapes[1].cpu",
    "nodePools[0].spec.minNodes",
  ]);
  assert.match(got[0]!.message, /whole cores/);
  assert.equal(got[1]!.message, "minNodes 3 exceeds limits.nodes 2");
  assert.equal(got[1]!.line, 22);
});

Deno.test("an empty text or a lone scalar is one problem at 1:1", () => {
  for (const text of ["", "just words\n"]) {
    assert.deepEqual(problems(text).map(where), ["1:1 : the file is empty or not a YAML map"]);
  }
});

Deno.test("a YAML syntax error carries the file name and a position, with no field path", () => {
  const [p] = problems("providers: [\n");
  assert.equal(p!.file, "c.yaml");
  assert.equal(p!.path, "");
  assert.ok(p!.line >= 1 && p!.col >= 1);
});

Deno.test("formatProblem writes file:line:col, then the path only when there is one", () => {
  const p = { file: "c.yaml", line: 3, col: 5, path: "a.b[0]", message: "bad" };
  assert.equal(formatProblem(p), "c.yaml:3:5: a.b[0]: bad");
  assert.equal(formatProblem({ ...p, path: "" }), "c.yaml:3:5: bad");
});

Deno.test("pathText dots keys and brackets list indices", () => {
  assert.equal(pathText(["nodePools", 0, "spec", "limits", "cpu"]), "nodePools[0].spec.limits.cpu");
  assert.equal(pathText([2, "x"]), "[2].x");
  assert.equal(pathText([]), "");
});

Deno.test("a missing file is a located problem, not an exception", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await loadConfigFile(`${dir}/absent.yaml`);
    assert.ok(!r.ok);
    assert.deepEqual(r.error.map(where), ["1:1 : file not found"]);
    await Deno.writeTextFile(`${dir}/c.yaml`, GOOD);
    const good = await loadConfigFile(`${dir}/c.yaml`);
    assert.ok(good.ok);
    assert.equal(good.value.providers[0]!.name, "home");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const WITH_POOLS = GOOD.replace(
  "      vmidRange: { lower: 9000, upper: 9099 }\n",
  `      vmidRange: { lower: 9000, upper: 9099 }
      ipPools:
        - name: nodes
          cidr: 10.0.20.0/24
          ranges: [10.0.20.100-10.0.20.199]
          reserved: [10.0.20.150]
          gateway: 10.0.20.1
          dns: [10.0.0.53]
`,
).replace(
  "      source: { clone: { templateVmid: 8000 } }\n",
  "      source: { clone: { templateVmid: 8000 } }\n" +
    "      network:\n        - { slot: net0, bridge: vmbr0, ipPool: nodes }\n",
);

Deno.test("IP pools normalise to intervals and a template NIC names one", () => {
  const r = parseConfigText(WITH_POOLS, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  const pool = r.value.providers[0]!.ipPools![0]!;
  assert.equal(pool.prefix, 24);
  assert.equal(pool.ranges.length, 1);
  assert.equal(r.value.machineTemplates[0]!.network[0]!.ipPool, "nodes");
});

Deno.test("a gateway outside the CIDR and overlapping ranges are located at their field", () => {
  const bad = WITH_POOLS.replace("gateway: 10.0.20.1", "gateway: 10.0.21.1").replace(
    "ranges: [10.0.20.100-10.0.20.199]",
    "ranges: [10.0.20.100-10.0.20.199, 10.0.20.150-10.0.20.160]",
  );
  assert.deepEqual(problems(bad).map(where), [
    "13:45 providers[0].spec.ipPools[0].ranges[1]: 10.0.20.150-10.0.20.160 overlaps 10.0.20.100-10.0.20.199",
    "15:20 providers[0].spec.ipPools[0].gateway: gateway 10.0.21.1 is outside 10.0.20.0/24's host addresses",
  ]);
});

Deno.test("a NIC naming an IP pool its Provider lacks, and a pool defined twice, are refused", () => {
  const bad = WITH_POOLS.replace("ipPool: nodes }", "ipPool: storage }").replace(
    "          dns: [10.0.0.53]\n",
    "          dns: [10.0.0.53]\n        - { name: nodes, cidr: 10.0.30.0/24 }\n",
  );
  const found = problems(bad).map((p) => `${p.path}: ${p.message}`);
  assert.deepEqual(found.sort(), [
    'machineTemplates[0].spec.network[0].ipPool: no IP pool "storage" in Provider "home" (known: nodes)',
    'providers[0].spec.ipPools[1].name: IP pool "nodes" is defined twice',
  ]);
});

Deno.test("a Balanced pool's threshold reaches the Config, and a threshold without Balanced is refused at the pool's disruption", () => {
  const balanced = GOOD.replace(
    "machineTemplate: worker",
    "machineTemplate: worker\n      disruption: { consolidationPolicy: Balanced, consolidationThreshold: 3 }",
  );
  const r = parseConfigText(balanced, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  assert.equal(r.value.nodePools[0]!.disruption.consolidationPolicy, "Balanced");
  assert.equal(r.value.nodePools[0]!.disruption.consolidationThreshold, 3);

  const lone = GOOD.replace(
    "machineTemplate: worker",
    "machineTemplate: worker\n      disruption: { consolidationThreshold: 3 }",
  );
  const got = problems(lone);
  assert.deepEqual(got.map(where), [
    "22:19 nodePools[0].spec.disruption: consolidationThreshold needs consolidationPolicy: Balanced",
  ]);
});
