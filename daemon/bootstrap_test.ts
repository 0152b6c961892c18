import assert from "node:assert/strict";
import { seedIsoRef } from "./bootstrap.ts";
import { template } from "../adapters/proxmox/testing/fixtures.ts";

Deno.test("only nocloudIso has a seed ISO, named after the claim on the template's iso storage", () => {
  assert.equal(seedIsoRef(template, "a"), undefined, "pveCloudInit uses PVE's own drive");
  assert.deepEqual(
    seedIsoRef({ ...template, bootstrap: { mode: "nocloudIso", isoStorage: "isos" } }, "g-1"),
    { storage: "isos", slot: "ide3", name: "proxscale-cidata-g-1.iso" },
  );
  assert.equal(
    seedIsoRef({ ...template, bootstrap: { mode: "nocloudIso" } }, "g-1")?.storage,
    "local",
  );
});
