/**
 * Tests of errors.ts: the classification table from HTTP status and PVE's text to a kind, which
 * of status and text wins, and what an error keeps (lock name, parameter map, ambiguity).
 *
 * May import: this folder.
 */
import assert from "node:assert/strict";
import { classifyText, httpError, type PveErrorKind, taskError } from "./errors.ts";

const EP = "POST /nodes/pve1/qemu/100/clone";

Deno.test("PVE's error texts map to their kinds, and unknown text maps to none", () => {
  const table: [string, PveErrorKind | undefined][] = [
    ["Configuration file 'nodes/pve1/qemu-server/9.conf' does not exist", "notFound"],
    ["unable to find configuration file for VM 9 on node 'pve1'", "notFound"],
    ["no such task", "notFound"],
    ["VM 100 already exists on node 'pve2'", "alreadyExists"],
    ["can't clone VM to node 'pve2' (VM uses local storage)", "validation"],
    ["can't clone to non-shared storage 'local-lvm'", "validation"],
    ["VM is locked (clone)", "locked"],
    ["can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", "lockTimeout"],
    ["VM 100 is running - destroy failed", "vmRunning"],
    ["VM 100 already running", "vmRunning"],
    ["cluster not ready - no quorum?", "noQuorum"],
    ["detected modified configuration - file changed by other user? checksum mismatch", "conflict"],
    ["something nobody expected", undefined],
  ];
  for (const [text, kind] of table) assert.equal(classifyText(text)?.kind, kind, text);
  assert.deepEqual(classifyText("VM is locked (migrate)"), { kind: "locked", lock: "migrate" });
});

Deno.test("401, 403 and 595-599 decide by status even when the text says otherwise", () => {
  const text = { message: "VM 100 already exists" };
  assert.equal(httpError(EP, 401, "authentication failure", text).kind, "auth");
  assert.equal(httpError(EP, 403, "Permission check failed", text).kind, "permission");
  assert.equal(httpError(EP, 595, "No route to host", text).kind, "nodeUnreachable");
  assert.equal(httpError(EP, 599, "x", undefined).kind, "nodeUnreachable");
  // Other statuses: the text wins, then 400 is validation and the rest transient.
  assert.equal(httpError(EP, 500, "VM 100 already exists", undefined).kind, "alreadyExists");
  assert.equal(httpError(EP, 400, "Parameter verification failed.", undefined).kind, "validation");
  assert.equal(httpError(EP, 500, "Internal Server Error", undefined).kind, "transient");
  assert.equal(httpError(EP, 404, "Not Found", undefined).kind, "transient");
});

Deno.test("the body's message is preferred to the reason phrase and classified with the errors map", () => {
  const e = httpError(EP, 500, "Internal Server Error", {
    message: " VM is locked (backup) \n",
  });
  assert.equal(e.kind, "locked");
  assert.equal(e.lock, "backup");
  assert.equal(e.pveMessage, "VM is locked (backup)");
  assert.equal(e.message, `PVE ${EP} failed: 500 VM is locked (backup)`);
  // A parameter error's text sits in the errors map; it classifies and is quoted per field.
  const p = httpError(EP, 400, "Parameter verification failed.", {
    errors: { newid: "VM 100 already exists on node 'pve2'\n", target: "no such node" },
  });
  assert.equal(p.kind, "alreadyExists");
  assert.deepEqual(p.errors, {
    newid: "VM 100 already exists on node 'pve2'\n",
    target: "no such node",
  });
  assert.equal(
    p.message,
    `PVE ${EP} failed: 400 Parameter verification failed. ` +
      "(newid: VM 100 already exists on node 'pve2'; target: no such node)",
  );
});

Deno.test("only an unexplained 5xx is ambiguous, and only a 401 carries the token hint", () => {
  assert.equal(httpError(EP, 502, "Bad Gateway", undefined).ambiguous, true);
  assert.equal(httpError(EP, 500, "VM 100 already exists", undefined).ambiguous, undefined);
  assert.equal(httpError(EP, 595, "Connection timed out", undefined).ambiguous, undefined);
  assert.equal(httpError(EP, 400, "bad", undefined).ambiguous, undefined);
  assert.match(httpError(EP, 401, "no ticket", undefined).message, /check both/);
  assert.doesNotMatch(httpError(EP, 403, "denied", undefined).message, /check both/);
  assert.equal("lock" in httpError(EP, 500, "boom", undefined), false);
});

Deno.test("a failed task is classified by its exitstatus, else it is taskFailed", () => {
  const upid = "UPID:pve1:0000A1B2:00C3D4E5:65000000:qmclone:100:root@pam!proxscale:";
  const locked = taskError(EP, upid, "VM is locked (create)");
  assert.deepEqual(locked, {
    kind: "locked",
    endpoint: EP,
    upid,
    pveMessage: "VM is locked (create)",
    message: `PVE task ${upid} failed: VM is locked (create)`,
    lock: "create",
  });
  const other = taskError(EP, upid, "clone failed: storage full");
  assert.equal(other.kind, "taskFailed");
  assert.equal("lock" in other, false);
});
