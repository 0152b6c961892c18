/**
 * A DaemonContext for unit tests of the daemon's steps without any server: the providers are
 * given (usually FakeProvider), the queue may be (FakeQueue), time is a FakeClock, reports and
 * crash-hook steps are recorded, and the Kubernetes client, informers and an absent queue throw
 * when touched, so a test shows which ports the step it drives really uses.
 *
 * May import: core/, adapters/ (types), daemon/.
 */
import type { Config } from "../../core/model.ts";
import { testConfig } from "../../core/testing/arbitraries.ts";
import type { CrashStep, DaemonContext, DecisionReport, JobData } from "../context.ts";
import type { JobQueue } from "../ports/queue.ts";
import type { MachineProvider } from "../ports/provider.ts";
import { FakeClock } from "./termination_fakes.ts";

/** A context, what it reported, and the crash-hook steps it passed. */
export type UnitContext = {
  ctx: DaemonContext;
  clock: FakeClock;
  reports: DecisionReport[];
  hooks: { step: CrashStep; detail: string }[];
};

/** A stand-in for a port the step under test must not use: any property access throws. */
function untouchable<T>(what: string): T {
  return new Proxy({}, {
    get(_t, key) {
      throw new Error(`this unit test gave no ${what}, but ${String(key)} was used`);
    },
  }) as T;
}

/**
 * A context over `providers` (by name), `config` (default: the core test config) and `queue`
 * (default: none, it throws when touched).
 */
export function unitContext(
  providers: Record<string, MachineProvider>,
  opts: { config?: Config; queue?: JobQueue<JobData> } = {},
): UnitContext {
  const config = opts.config ?? testConfig();
  const clock = new FakeClock();
  const reports: DecisionReport[] = [];
  const hooks: UnitContext["hooks"] = [];
  const ctx: DaemonContext = {
    kube: untouchable("Kubernetes client"),
    informers: untouchable("informers"),
    queue: opts.queue ?? untouchable("queue"),
    providers: new Map(Object.entries(providers)),
    config: () => config,
    clock,
    report: (d) => reports.push(d),
    hook: (step, detail) => {
      hooks.push({ step, detail });
      return Promise.resolve();
    },
    pollInterval: 10,
  };
  return { ctx, clock, reports, hooks };
}
