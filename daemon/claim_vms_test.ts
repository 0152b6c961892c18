import assert from "node:assert/strict";
import { err, ok } from "../core/result.ts";
import { reason } from "../core/reason.ts";
import type { Machine, MachineProvider } from "../adapters/proxmox/port.ts";
import type { DaemonContext, DecisionReport } from "./context.ts";
import { destroyClaimVms } from "./claim_vms.ts";

const machine: Machine = {
  vmid: 1234,
  host: "pve1",
  provider: "pve",
  name: "general-abcde",
  tags: ["proxscale"],
  status: "running",
  size: { cpu: 4000, memory: 8 * 2 ** 30 },
  claim: "general-abcde",
};

Deno.test("a VM the provider fails to delete is reported as ProviderError, not as the deletion's reason", async () => {
  const provider: Pick<MachineProvider, "listing" | "delete"> = {
    listing: () => Promise.resolve(ok({ machines: [machine], unknownHosts: [] })),
    delete: () =>
      Promise.resolve(
        err({ kind: "InvalidTemplate" as const, message: "PVE said 500 on destroy" }),
      ),
  };
  const reports: DecisionReport[] = [];
  const ctx: Pick<DaemonContext, "providers" | "clock" | "report" | "hook"> = {
    providers: new Map([["pve", provider as MachineProvider]]),
    clock: { now: () => 1_000, sleep: () => Promise.resolve() },
    report: (d) => reports.push(d),
    hook: () => Promise.resolve(),
  };
  const r = await destroyClaimVms(
    ctx as DaemonContext,
    "general-abcde",
    undefined,
    reason("Finalizing", "general-abcde was deleted"),
  );
  assert.ok(!r.ok);
  assert.deepEqual(reports.map((d) => d.what), ["VmDeleteFailed"]);
  assert.equal(reports[0]!.reason.code, "ProviderError");
  assert.match(reports[0]!.reason.message, /general-abcde was deleted: PVE said 500 on destroy/);
});
