import assert from "node:assert/strict";
import { launchFailureCause } from "./port.ts";
import { httpError, localError } from "./errors.ts";
import { reason } from "../../core/reason.ts";

const pve = (status: number, text: string) => ({
  kind: "Pve" as const,
  step: "clone",
  error: httpError("POST /nodes/pve1/qemu/9000/clone", status, text, undefined),
  message: text,
});

Deno.test("launch failures that retrying cannot heal are permanent, with their cause", () => {
  assert.deepEqual(launchFailureCause({ kind: "InvalidTemplate", message: "x" }), {
    permanent: true,
    cause: "InvalidTemplate",
  });
  assert.deepEqual(launchFailureCause({ kind: "BootstrapFailed", message: "no CA" }), {
    permanent: true,
    cause: "BootstrapFailed",
  });
  assert.deepEqual(launchFailureCause(pve(403, "Permission check failed")), {
    permanent: true,
    cause: "Pve/permission",
  });
  assert.deepEqual(launchFailureCause(pve(400, "parameter verification failed")), {
    permanent: true,
    cause: "Pve/validation",
  });
  assert.deepEqual(
    launchFailureCause(pve(500, "can't clone VM to node 'pve2' (VM uses local storage)")),
    { permanent: true, cause: "Pve/validation" },
  );
});

Deno.test("5xx, locks, timeouts and a launch still running are transient", () => {
  assert.equal(launchFailureCause(pve(500, "internal error")).permanent, false);
  assert.equal(launchFailureCause(pve(500, "got timeout")).permanent, false);
  assert.equal(launchFailureCause(pve(500, "VM is locked (clone)")).permanent, false);
  const timeout = localError("timeout", "POST /x", "no answer");
  assert.equal(
    launchFailureCause({ kind: "Pve", step: "s", error: timeout, message: "t" }).permanent,
    false,
  );
  assert.equal(
    launchFailureCause({ kind: "InProgress", vmid: 1, host: "h", message: "m" }).permanent,
    false,
  );
  assert.equal(
    launchFailureCause({
      kind: "NoHost",
      reason: reason("HostCapacityExhausted", "m"),
      message: "m",
    })
      .permanent,
    false,
  );
});
