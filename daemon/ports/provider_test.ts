import assert from "node:assert/strict";
import { launchFailureCause, type ProviderError, providerErrorReason } from "./provider.ts";
import { reason } from "../../core/reason.ts";

const api = (kind: string, permanent: boolean): ProviderError => ({
  kind: "Api",
  step: "create",
  error: { api: "Other", kind, permanent, message: `${kind} happened` },
  message: `create: ${kind} happened`,
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
  assert.deepEqual(
    launchFailureCause({
      kind: "VmidRangeExhausted",
      lower: 1,
      upper: 2,
      blocked: 2,
      message: "m",
    }),
    { permanent: true, cause: "VmidRangeExhausted" },
  );
});

Deno.test("an API failure is as permanent as its adapter says, its cause named by API and kind", () => {
  assert.deepEqual(launchFailureCause(api("permission", true)), {
    permanent: true,
    cause: "Other/permission",
  });
  assert.deepEqual(launchFailureCause(api("timeout", false)), {
    permanent: false,
    cause: "Other/timeout",
  });
});

Deno.test("a launch still running and a host without room are transient", () => {
  assert.equal(
    launchFailureCause({ kind: "InProgress", vmid: 1, host: "h", message: "m" }).permanent,
    false,
  );
  assert.equal(
    launchFailureCause({
      kind: "NoHost",
      reason: reason("HostCapacityExhausted", "m"),
      message: "m",
    }).permanent,
    false,
  );
});

Deno.test("a provider failure's reason is its own code for a full VMID range or no host, else LaunchFailed", () => {
  assert.equal(
    providerErrorReason({
      kind: "VmidRangeExhausted",
      lower: 1,
      upper: 2,
      blocked: 2,
      message: "m",
    })
      .code,
    "VmidRangeExhausted",
  );
  const noHost = reason("HostCapacityExhausted", "full");
  assert.deepEqual(providerErrorReason({ kind: "NoHost", reason: noHost, message: "m" }), noHost);
  const r = providerErrorReason(api("timeout", false));
  assert.equal(r.code, "LaunchFailed");
  assert.equal(r.message, "create: timeout happened");
});
