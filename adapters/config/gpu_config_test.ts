/**
 * Tests of GPU shapes in the configuration: `gpus` on a shape, the template's `gpu` block,
 * `settings.cost.perGpuHour` and a pool's `limits.gpus` reach core's types; a GPU block that
 * names neither a mapping nor a model, or asks for no device, is refused at its position.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { type ConfigProblem, formatProblem, parseConfigText } from "./load.ts";

const head = `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts: [{ name: pve1 }]
      vmidRange: { lower: 9000, upper: 9099 }
machineTemplates:
  - name: gpu
    spec:
      provider: home
      source: { clone: { templateVmid: 8000 } }
`;
const tail = `nodePools:
  - name: gpus
    spec:
      machineTemplate: gpu
      limits: { gpus: 4 }
settings:
  cost: { perGpuHour: 1.5 }
`;

function problems(text: string): ConfigProblem[] {
  const r = parseConfigText(text, "c.yaml");
  assert.ok(!r.ok, "the text should be refused");
  return r.error;
}

Deno.test("GPU shapes, the template's gpu block, perGpuHour and limits.gpus reach the Config", () => {
  const text = head + `      shapes:
        - { cpu: 2, memory: 4Gi }
        - { cpu: 8, memory: 32Gi, gpus: { count: 1, mapping: a100 } }
        - { cpu: 4, memory: 16Gi, gpus: { count: 2, model: T4, mdev: nvidia-222 } }
` + tail;
  const r = parseConfigText(text, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  const t = r.value.machineTemplates[0]!;
  const byName = new Map(t.shapes.map((s) => [s.name, s]));
  assert.deepEqual(byName.get("8c-32Gi-1xa100")?.gpus, { count: 1, mapping: "a100" });
  assert.deepEqual(byName.get("4c-16Gi-2xT4-nvidia-222")?.gpus, {
    count: 2,
    model: "T4",
    mdev: "nvidia-222",
  });
  assert.equal(byName.get("2c-4Gi")?.gpus, undefined);
  assert.equal(r.value.settings.cost.perGpuHour, 1.5);
  assert.equal(r.value.nodePools[0]!.limits.gpus, 4);
  // No gpu block written: core's defaults apply (nvidia.com/gpu, one pod per GPU).
  assert.equal(t.gpu, undefined);
  // The CPU shape stays the cheapest: GPU shapes cost their devices too.
  assert.equal(t.shapes[0]!.name, "2c-4Gi");
});

Deno.test("a written gpu block gets its defaults: nvidia.com/gpu, one replica, PCIe", () => {
  const text = head + `      gpu: { replicas: 4 }
      shapes:
        - { cpu: 8, memory: 32Gi, gpus: { count: 1, mapping: gpu } }
` + tail;
  const r = parseConfigText(text, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  assert.deepEqual(r.value.machineTemplates[0]!.gpu, {
    resourceName: "nvidia.com/gpu",
    replicas: 4,
    pcie: true,
  });
});

Deno.test("gpus without a mapping or a model is refused at the gpus block", () => {
  const text = head + `      shapes:
        - { cpu: 8, memory: 32Gi, gpus: { count: 1 } }
` + tail;
  const p = problems(text);
  const hit = p.find((x) => /mapping or a model/.test(x.message));
  assert.ok(hit, p.map(formatProblem).join("\n"));
  assert.equal(hit.path, "machineTemplates[0].spec.shapes[0].gpus");
  assert.equal(hit.line, 15);
  assert.ok(hit.col > 1);
});

Deno.test("a gpus count below one is refused at the count, with its line and column", () => {
  const text = head + `      shapes:
        - cpu: 8
          memory: 32Gi
          gpus:
            count: 0
            mapping: gpu
` + tail;
  const p = problems(text);
  const hit = p.find((x) => x.path === "machineTemplates[0].spec.shapes[0].gpus.count");
  assert.ok(hit, p.map(formatProblem).join("\n"));
  assert.match(hit.message, /at least 1/);
  assert.equal(`${hit.line}:${hit.col}`, "18:20");
  assert.match(formatProblem(hit), /^c\.yaml:18:20: /);
});

Deno.test("a mapping name PVE would refuse and an unknown key in gpus are refused", () => {
  const text = head + `      shapes:
        - { cpu: 8, memory: 32Gi, gpus: { count: 1, mapping: "a 100", vendor: x } }
` + tail;
  const p = problems(text).map((x) => `${x.path}: ${x.message}`).join("\n");
  assert.match(p, /gpus\.mapping: must be a PVE resource mapping id/);
  assert.match(p, /gpus\.vendor: unknown field/);
});
