import assert from "node:assert/strict";
import { reason, REASON_CODES, REASON_SEVERITY, severityOf } from "./reason.ts";
import { type Condition, CONDITION_TYPES } from "./model.ts";

Deno.test("a reason code outside the closed set does not type-check", () => {
  // @ts-expect-error "Typo" is no reason code
  const r = reason("Typo", "a misspelt code");
  assert.equal(r.code, "Typo");
  assert.ok(!REASON_CODES.includes(r.code));
});

Deno.test("a condition type outside the closed set does not type-check", () => {
  const c: Condition = {
    // @ts-expect-error "Laucnhed" is no condition type
    type: "Laucnhed",
    status: "True",
    reason: "Launched",
    message: "",
    lastTransitionTime: 0,
  };
  assert.ok(!(CONDITION_TYPES as readonly string[]).includes(c.type));
});

Deno.test("every reason code has one Event type, Normal or Warning", () => {
  assert.ok(REASON_CODES.length > 40);
  assert.equal(new Set(REASON_CODES).size, REASON_CODES.length);
  for (const code of REASON_CODES) {
    assert.ok(["Normal", "Warning"].includes(severityOf(code)), code);
  }
  assert.deepEqual(Object.keys(REASON_SEVERITY), [...REASON_CODES]);
});

Deno.test("failures, timeouts, orphans and paused repairs are Warnings; decisions and news are Normal", () => {
  for (
    const code of [
      "LaunchFailed",
      "LaunchFailing",
      "LaunchTimeout",
      "RegistrationTimeout",
      "NodeNotReady",
      "RepairPaused",
      "DrainTimeout",
      "OrphanVM",
      "OrphanNode",
      "VMVanished",
      "ProviderError",
      "KubernetesError",
      "QueueError",
      "HostUnavailable",
      "ConfigInvalid",
      "BootstrapFailed",
    ] as const
  ) assert.equal(severityOf(code), "Warning", code);
  for (
    const code of [
      "PodsPending",
      "Launched",
      "StatusUpdated",
      "Drifted",
      "Empty",
      "Finalizing",
      "HostAvailable",
      "Paused",
      "BootstrapPrepared",
      "BootstrapReleased",
    ] as const
  ) assert.equal(severityOf(code), "Normal", code);
});
