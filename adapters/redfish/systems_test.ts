import { deepEqual, equal } from "node:assert/strict";
import { parseSystem } from "./systems.ts";
import { parseMedia } from "./virtual_media.ts";

Deno.test("a ComputerSystem body gives power, size, lower-case UUID, boot override and reset types", () => {
  const s = parseSystem("/redfish/v1/Systems/1", {
    Id: "1",
    UUID: "ABCDEF00-0000-4000-8000-000000000001",
    PowerState: "PoweringOn",
    ProcessorSummary: { Count: 2, CoreCount: 24, LogicalProcessorCount: 48 },
    MemorySummary: { TotalSystemMemoryGiB: 256 },
    Boot: { BootSourceOverrideEnabled: "Once", BootSourceOverrideTarget: "Cd" },
    Actions: {
      "#ComputerSystem.Reset": {
        target: "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
        "ResetType@Redfish.AllowableValues": ["On", "ForceOff"],
      },
    },
    Links: { ManagedBy: [{ "@odata.id": "/redfish/v1/Managers/1" }] },
  }, 'W/"3"');
  equal(s.uuid, "abcdef00-0000-4000-8000-000000000001");
  equal(s.powerState, "PoweringOn");
  equal(s.cpus, 48);
  equal(s.memoryGiB, 256);
  deepEqual(s.boot, { enabled: "Once", target: "Cd", allowedTargets: [] });
  deepEqual(s.reset.allowed, ["On", "ForceOff"]);
  deepEqual(s.managers, ["/redfish/v1/Managers/1"]);
  equal(s.etag, 'W/"3"');
});

Deno.test("a sparse System still parses: unknown power, zero size, the conventional Reset target", () => {
  const s = parseSystem("/redfish/v1/Systems/x", { PowerState: "Weird" });
  equal(s.powerState, "Unknown");
  equal(s.cpus, 0);
  equal(s.reset.target, "/redfish/v1/Systems/x/Actions/ComputerSystem.Reset");
});

Deno.test("a VirtualMedia body gives inserted image and action targets", () => {
  const m = parseMedia("/redfish/v1/Managers/1/VirtualMedia/CD1", {
    Inserted: true,
    Image: "https://x/seed.iso",
    MediaTypes: ["CD", "DVD"],
  });
  equal(m.inserted, true);
  equal(m.image, "https://x/seed.iso");
  equal(m.insertTarget, "/redfish/v1/Managers/1/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia");
});
