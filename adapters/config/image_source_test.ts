/**
 * Tests of the `source.image` configuration (templates built from cloud images) and the
 * Provider's template VMID range: normalised values, and problems located at file:line:column.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { type ConfigProblem, formatProblem, parseConfigText } from "./load.ts";

const SHA = "a".repeat(64);
const GOOD = `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006/
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts:
        - name: pve1
        - name: pve2
      vmidRange: { lower: 9000, upper: 9099 }
      templateVmidRange: { lower: 8000, upper: 8019 }
machineTemplates:
  - name: worker
    spec:
      provider: home
      source:
        image:
          url: http://127.0.0.1:8080/noble.img
          checksum: { algorithm: sha256, value: ${SHA.toUpperCase()} }
          storage: local-lvm
          perHost: [pve1, pve2]
      shapes:
        - { cpu: 2, memory: 4Gi }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
`;

function problems(text: string): string[] {
  const r = parseConfigText(text, "c.yaml");
  assert.ok(!r.ok, "the text should be refused");
  return r.error.map((p: ConfigProblem) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
}

Deno.test("an image source becomes a normalised image template with defaults filled in", () => {
  const r = parseConfigText(GOOD, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  assert.deepEqual(r.value.machineTemplates[0]!.source, {
    kind: "image",
    url: "http://127.0.0.1:8080/noble.img",
    checksum: { algorithm: "sha256", value: SHA },
    storage: "local-lvm",
    importStorage: "local",
    perHost: ["pve1", "pve2"],
    full: true,
  });
  assert.deepEqual(r.value.providers[0]!.templateVmidRange, { lower: 8000, upper: 8019 });
});

Deno.test("a checksum of the wrong length for its algorithm is located at the value", () => {
  const text = GOOD.replace("algorithm: sha256", "algorithm: sha512");
  assert.deepEqual(problems(text), [
    "19:49 machineTemplates[0].spec.source.image.checksum.value: a sha512 digest has 128 hex digits, got 64",
  ]);
});

Deno.test("an image template on an unknown host or without a template VMID range is refused", () => {
  const text = GOOD.replace("perHost: [pve1, pve2]", "perHost: [pve1, pve9]");
  assert.deepEqual(problems(text), [
    '21:27 machineTemplates[0].spec.source.image.perHost[1]: host "pve9" is not among Provider "home" hosts',
  ]);
  const noRange = GOOD.replace("      templateVmidRange: { lower: 8000, upper: 8019 }\n", "");
  assert.deepEqual(problems(noRange), [
    '17:11 machineTemplates[0].spec.source.image: Provider "home" has no templateVmidRange for the template VMs built from images',
  ]);
});

Deno.test("a template VMID range overlapping the node VMID range is refused", () => {
  const text = GOOD.replace("lower: 8000, upper: 8019", "lower: 9090, upper: 9109");
  assert.deepEqual(problems(text), [
    "11:26 providers[0].spec.templateVmidRange: overlaps vmidRange 9000-9099: template VMs need VMIDs no node VM takes",
  ]);
});
