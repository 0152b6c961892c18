/**
 * A Redfish Provider through the CRD path: the YAML loader, the generated CRD schema (its
 * structural checks, defaults and CEL rules) and the CRD config loader all accept it next to a
 * Proxmox one, and the CRD's defaults give it none of the Proxmox fields.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { KINDS, objectSchema } from "../adapters/kubernetes/crds.ts";
import { admit } from "../adapters/kubernetes/structural_validate.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { configFromObjects, formatCrdProblem } from "../adapters/config/crd_source.ts";
import { manifestsFromConfig } from "../adapters/config/crd_manifests.ts";

const exampleText = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));

/** The example configuration plus a Redfish Provider "rack". */
function withRack() {
  const doc = parse(exampleText);
  doc.providers.push({
    name: "rack",
    spec: {
      kind: "redfish",
      machines: [{
        name: "r1-07",
        endpoint: "https://bmc-r1-07.lan",
        systemId: "System.Embedded.1",
        username: "proxscale",
        password: { secret: { namespace: "proxscale-system", name: "bmc", key: "password" } },
      }],
      seedServer: {
        url: "https://proxscale.lan:8450",
        certFile: "/etc/proxscale/seed.crt",
        keyFile: "/etc/proxscale/seed.key",
      },
    },
  });
  return doc;
}

Deno.test("a Redfish Provider passes the YAML loader, the CRD schema and the CRD loader", () => {
  const doc = withRack();
  const yaml = parseConfigText(stringify(doc), "x.yaml");
  assert.ok(yaml.ok, yaml.ok ? "" : JSON.stringify(yaml.error));
  const manifests = manifestsFromConfig(doc);
  const rack = manifests.find((m) => m.kind === "Provider" && m.metadata.name === "rack")!;
  const kind = KINDS.find((k) => k.kind === "Provider")!;
  const verdict = admit(structuredClone(rack), objectSchema(kind));
  assert.ok(
    verdict.ok,
    verdict.ok ? "" : verdict.errors.map((e) => `${e.path}: ${e.message}`).join("; "),
  );
  const fromCrds = configFromObjects(manifests);
  assert.ok(fromCrds.ok, fromCrds.ok ? "" : JSON.stringify(fromCrds.error));
  const p = fromCrds.value.providers.find((x) => x.name === "rack")!;
  assert.equal(p.kind, "redfish");
  assert.deepEqual(p.hosts.map((h) => h.name), ["r1-07"]);
});

Deno.test("through the CRDs a bare-metal template needs no source, and each kind's fields are checked against its Provider", () => {
  const doc = withRack();
  doc.machineTemplates.push({
    name: "metal",
    spec: { provider: "rack", shapes: [{ cpu: 32, memory: "128Gi" }] },
  });
  const kind = KINDS.find((k) => k.kind === "MachineTemplate")!;
  const template = (m: ReturnType<typeof manifestsFromConfig>, name: string) =>
    m.find((x) => x.kind === "MachineTemplate" && x.metadata.name === name)!;
  const manifests = manifestsFromConfig(doc);
  const verdict = admit(structuredClone(template(manifests, "metal")), objectSchema(kind));
  assert.ok(verdict.ok, verdict.ok ? "" : verdict.errors.map((e) => e.message).join("; "));
  const loaded = configFromObjects(manifests);
  assert.ok(loaded.ok, loaded.ok ? "" : loaded.error.map(formatCrdProblem).join("\n"));
  assert.equal(loaded.value.machineTemplates.find((t) => t.name === "metal")!.provider, "rack");

  // A PVE-only field on the bare-metal template is refused by name, through the CRD loader.
  const wrong = structuredClone(manifests);
  (template(wrong, "metal").spec as Record<string, unknown>).source = { scratch: {} };
  (template(wrong, "metal").spec as Record<string, unknown>).network = [{ bridge: "vmbr0" }];
  const refused = configFromObjects(wrong);
  assert.ok(!refused.ok);
  const said = refused.error.map(formatCrdProblem);
  assert.ok(
    said.some((l) =>
      /MachineTemplate\/metal: spec\.source: source does not apply to bare metal/.test(l)
    ),
    said.join("\n"),
  );
  assert.ok(said.some((l) => /spec\.network: network does not apply/.test(l)), said.join("\n"));

  // The CRD accepts a Proxmox template without source (its kind is not known there); the
  // CRD loader refuses it.
  const bare = structuredClone(manifests);
  delete (template(bare, "worker").spec as Record<string, unknown>).source;
  assert.ok(admit(structuredClone(template(bare, "worker")), objectSchema(kind)).ok);
  const missing = configFromObjects(bare);
  assert.ok(!missing.ok);
  assert.match(
    missing.error.map(formatCrdProblem).join("\n"),
    /MachineTemplate\/worker: spec\.source: a MachineTemplate on Proxmox Provider "homelab" needs source/,
  );
});
