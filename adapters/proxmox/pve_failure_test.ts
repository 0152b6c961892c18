import assert from "node:assert/strict";
import { isPermanentPveError, pveFailure } from "./pve_failure.ts";
import { pveFail } from "./provider_context.ts";
import { httpError, localError } from "./errors.ts";
import { launchFailureCause } from "../../daemon/ports/provider.ts";

const clone = (status: number, text: string) =>
  pveFail("clone", httpError("POST /nodes/pve1/qemu/9000/clone", status, text, undefined));

Deno.test("PVE failures that retrying cannot heal are permanent launch failures, with their cause", () => {
  assert.deepEqual(launchFailureCause(clone(403, "Permission check failed")), {
    permanent: true,
    cause: "Pve/permission",
  });
  assert.deepEqual(launchFailureCause(clone(400, "parameter verification failed")), {
    permanent: true,
    cause: "Pve/validation",
  });
  assert.deepEqual(
    launchFailureCause(clone(500, "can't clone VM to node 'pve2' (VM uses local storage)")),
    { permanent: true, cause: "Pve/validation" },
  );
});

Deno.test("PVE 5xx, locks and timeouts are transient launch failures", () => {
  assert.equal(launchFailureCause(clone(500, "internal error")).permanent, false);
  assert.equal(launchFailureCause(clone(500, "got timeout")).permanent, false);
  assert.equal(launchFailureCause(clone(500, "VM is locked (clone)")).permanent, false);
  const timeout = localError("timeout", "POST /x", "no answer");
  assert.equal(launchFailureCause(pveFail("s", timeout)).permanent, false);
  assert.equal(isPermanentPveError(timeout), false);
});

Deno.test("a 4xx that says conflict, already exists or locked is not permanent", () => {
  for (const text of ["VM 101 already exists", "VM is locked (backup)"]) {
    const e = httpError("POST /nodes/pve1/qemu", 409, text, undefined);
    assert.equal(isPermanentPveError(e), false, text);
  }
});

Deno.test("a PVE failure in the port's terms keeps PVE's endpoint and words for logs", () => {
  const e = httpError(
    "POST /nodes/pve1/qemu/9000/clone",
    403,
    "Permission check failed",
    undefined,
  );
  const f = pveFailure(e);
  assert.equal(f.api, "Pve");
  assert.equal(f.kind, "permission");
  assert.equal(f.permanent, true);
  assert.equal(f.endpoint, "POST /nodes/pve1/qemu/9000/clone");
  assert.equal(f.status, 403);
});
