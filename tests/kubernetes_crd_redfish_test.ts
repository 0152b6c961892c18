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
import { configFromObjects } from "../adapters/config/crd_source.ts";
import { manifestsFromConfig } from "../adapters/config/crd_manifests.ts";

const exampleText = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));

Deno.test("a Redfish Provider passes the YAML loader, the CRD schema and the CRD loader", () => {
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
