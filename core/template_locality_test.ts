import assert from "node:assert/strict";
import type { MachineTemplate } from "./model.ts";
import { needsSharedTemplateStorage, templateHostsAmong } from "./template_locality.ts";

const withSource = (source: MachineTemplate["source"]) => ({ source }) as MachineTemplate;
const HOSTS = ["pve1", "pve2", "pve3"];

Deno.test("a per-host template serves only the hosts it names", () => {
  const t = withSource({ kind: "clone", perHost: { pve1: 9000, pve3: 9002 }, full: false });
  assert.deepEqual(templateHostsAmong(t, HOSTS), ["pve1", "pve3"]);
  assert.equal(needsSharedTemplateStorage(t, HOSTS), false);
});

Deno.test("a shared template serves the hosts PVE says can clone it, plus per-host copies", () => {
  const t = withSource({ kind: "clone", templateVmid: 9000, perHost: { pve3: 9002 }, full: false });
  assert.deepEqual(templateHostsAmong(t, HOSTS, ["pve1"]), ["pve1", "pve3"]);
  assert.deepEqual(
    templateHostsAmong(t, HOSTS),
    HOSTS,
    "without PVE's answer: the config's limits",
  );
  assert.equal(needsSharedTemplateStorage(t, HOSTS), true);
  assert.equal(needsSharedTemplateStorage(t, ["pve1", "pve3"]), false);
});

Deno.test("a scratch-built template serves every host", () => {
  const t = withSource({ kind: "scratch", options: {} });
  assert.deepEqual(templateHostsAmong(t, HOSTS, []), HOSTS);
});

Deno.test("an image template serves only hosts with a finished template VM, none before", () => {
  const t = withSource({
    kind: "image",
    url: "http://127.0.0.1/x.img",
    checksum: { algorithm: "sha256", value: "a".repeat(64) },
    storage: "local-lvm",
    importStorage: "local",
    full: true,
  });
  assert.deepEqual(templateHostsAmong(t, HOSTS), []);
  assert.deepEqual(templateHostsAmong(t, HOSTS, ["pve3", "pve1"]), ["pve1", "pve3"]);
});
