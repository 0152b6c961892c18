import { deepEqual, equal } from "node:assert/strict";
import { BmcModel, type PowerEvent } from "./model.ts";

Deno.test("power listeners hear each completed change with the boot source, and setPower acts at once", async () => {
  const m = new BmcModel([{}, { powerState: "On" }], { powerOnDelayMs: 30, powerOffDelayMs: 30 });
  const seen: PowerEvent[] = [];
  const off = m.onPower((e) => seen.push(e));
  equal(m.reset("node1", "On"), undefined);
  equal(m.system("node1")!.powerState, "PoweringOn");
  await new Promise((r) => setTimeout(r, 80));
  equal(m.system("node1")!.powerState, "On");
  m.setPower("node2", "Off");
  deepEqual(seen.map((e) => [e.system, e.state, e.bootSource]), [
    ["node1", "On", "Hdd"],
    ["node2", "Off", undefined],
  ]);
  off();
  m.setPower("node2", "On");
  equal(seen.length, 2, "an unsubscribed listener hears nothing");
  m.stop();
});

Deno.test("a System may be given its own Id, as a Proxmox host's BMC would name it", () => {
  const m = new BmcModel([{ id: "pve4", powerState: "Off" }]);
  equal(m.system("pve4")?.powerState, "Off");
  equal(m.reset("pve4", "ForceOff")?.status, 409);
  m.stop();
});

Deno.test("a reset type outside the allowed list and an On of a running system are refused", () => {
  const m = new BmcModel([{ powerState: "On" }]);
  equal(m.reset("node1", "Hibernate")?.status, 400);
  equal(m.reset("node1", "On")?.status, 409);
  equal(m.reset("nodeX", "On")?.status, 404);
  m.stop();
});
