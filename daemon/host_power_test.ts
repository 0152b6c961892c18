import { deepEqual, equal, match, ok } from "node:assert/strict";
import { SpanStatusCode } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { createTracing } from "../adapters/telemetry/tracing.ts";
import type { Config, HostConfig, Snapshot } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { provision } from "../core/provisioning.ts";
import { err as errResult, ok as okResult } from "../core/result.ts";
import { snapshotOf, T0, testConfig, testHost, testPod } from "../core/testing/arbitraries.ts";
import type { MachineProvider } from "./ports/provider.ts";
import { HostPowerManager } from "./host_power.ts";
import { unitContext } from "./testing/context_fake.ts";
import { FakeHostPower } from "./testing/host_power_fake.ts";

const bmc = {
  bmc: {
    endpoint: "https://bmc.test",
    username: { env: "U" },
    password: { env: "P" },
    systemId: "1",
    tls: { insecureSkipVerify: true },
  },
  bootDelay: 60_000,
};

const host = (name: string, power: boolean): HostConfig => ({
  name,
  zone: "zone-a",
  cpuOvercommit: 1,
  memoryOvercommit: 1,
  reserved: { cpu: 0, memory: 0 },
  ...(power ? { power: bmc } : {}),
});

function setup(online: Record<string, boolean>) {
  const base = testConfig();
  const names = Object.keys(online);
  const config: Config = {
    ...base,
    providers: [{
      ...base.providers[0]!,
      hosts: names.map((n) => host(n, n === "pve4")),
      hostPower: { powerOffAfter: 300_000, minOnlineHosts: 2 },
    }],
  };
  const provider = {
    clusterMembers: () =>
      Promise.resolve(
        okResult(names.map((n) => ({ name: n, online: online[n]!, votes: 1, haResources: 0 }))),
      ),
  } as unknown as MachineProvider;
  const u = unitContext({ pve: provider }, { config });
  const port = new FakeHostPower();
  for (const n of names) port.power.set(n, online[n] ? "on" : "off");
  port.capacity.set("pve4", { cpu: 8000, memory: 16 * GiB });
  return { ...u, config, port, manager: new HostPowerManager(u.ctx, port) };
}

function burst(online: Record<string, boolean>): Snapshot {
  return snapshotOf({
    hosts: Object.entries(online).map(([n, on]) =>
      testHost(n, "zone-a", {
        online: on,
        capacity: on ? { cpu: 8000, memory: 16 * GiB } : { cpu: 0, memory: 0 },
        committed: on ? { cpu: 8000, memory: 16 * GiB } : { cpu: 0, memory: 0 },
      })
    ),
    pods: [testPod("web-1", undefined, { unschedulable: true })],
  });
}

const ONLINE = { pve1: true, pve2: true, pve3: true, pve4: false };

Deno.test("the daemon powers on the host its BMC reports off when pending pods need it, and reports why", async () => {
  const { manager, port, reports, config } = setup(ONLINE);
  const snap = burst(ONLINE);
  const plan = await manager.pass(snap, config, provision(snap, config), true);
  equal(plan?.decisions.length, 1);
  deepEqual(port.calls, [{ host: "pve4", on: true }]);
  const r = reports.find((x) => x.what === "PowerOn")!;
  equal(r.outcome, "succeeded");
  equal(r.provider, "pve");
  match(r.reason.message, /pve4 \(powered off\) fits 1/);
  ok(manager.state.poweringOn["pve/pve4"] === T0);
  // The status document shows it booting, not down.
  deepEqual(manager.powerStates(), [{ provider: "pve", host: "pve4", power: "booting" }]);
});

Deno.test("a replica that does not act only reports the power-on as a dry run, once while it repeats", async () => {
  const { manager, port, reports, config } = setup(ONLINE);
  const snap = burst(ONLINE);
  await manager.pass(snap, config, provision(snap, config), false);
  await manager.pass(snap, config, provision(snap, config), false);
  deepEqual(port.calls, []);
  equal(reports.find((x) => x.what === "PowerOn")?.dryRun, true);
  equal(reports.filter((x) => x.what === "PowerOn").length, 1, "reported once while repeated");
  deepEqual(manager.state.poweringOn, {});
});

Deno.test("a BMC that refuses the power-on is reported as failed and the next pass asks again", async () => {
  const { manager, port, reports, config } = setup(ONLINE);
  port.failing.set("pve4", "401 Unauthorized");
  port.power.set("pve4", "off");
  const snap = burst(ONLINE);
  // Reading fails too: no power state, so nothing is decided; the failure is reported once.
  await manager.pass(snap, config, provision(snap, config), true);
  await manager.pass(snap, config, provision(snap, config), true);
  equal(reports.filter((x) => x.reason.code === "HostPowerFailed").length, 1);
  deepEqual(port.calls, []);
  // A BMC that reads but refuses the reset.
  const failingSet = new FakeHostPower();
  failingSet.power.set("pve4", "off");
  failingSet.capacity.set("pve4", { cpu: 8000, memory: 16 * GiB });
  failingSet.set = (h, _p, on) => {
    failingSet.calls.push({ host: h, on });
    return Promise.resolve({ ok: false, error: { message: "503 busy" } });
  };
  const m2 = new HostPowerManager(manager.ctx, failingSet);
  await m2.pass(snap, config, provision(snap, config), true);
  await m2.pass(snap, config, provision(snap, config), true);
  equal(failingSet.calls.length, 2);
  const failed = reports.filter((x) => x.what === "PowerOn" && x.outcome === "failed");
  match(failed[0]!.reason.message, /powering on pve4 failed: 503 busy/);
});

Deno.test("a power request runs in its own action span carrying the decision's reason; a failed one fails it", async () => {
  for (const failing of [false, true]) {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    const tracing = createTracing({ tracer: provider.getTracer("test") });
    const u = setup(ONLINE);
    // The BMC reads fine and refuses the request itself.
    if (failing) u.port.set = () => Promise.resolve(errResult({ message: "BMC said no" }));
    const manager = new HostPowerManager({ ...u.ctx, tracing }, u.port);
    const snap = burst(ONLINE);
    await manager.pass(snap, u.config, provision(snap, u.config), true);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === "action PowerOn");
    equal(spans.length, 1, exporter.getFinishedSpans().map((s) => s.name).join(", "));
    const span = spans[0]!;
    const decided = u.reports.find((r) => r.what === "PowerOn")!;
    equal(span.attributes["proxscale.host"], "pve4");
    equal(span.attributes["proxscale.provider"], "pve");
    equal(span.attributes["proxscale.reason"], "HostPowerOn");
    if (!failing) {
      // The same words as the log line and the Event.
      equal(span.attributes["proxscale.reason_message"], decided.reason.message);
      equal(span.status.code, SpanStatusCode.UNSET);
    } else {
      equal(decided.reason.code, "HostPowerFailed");
      equal(span.status.code, SpanStatusCode.ERROR);
      match(String(span.status.message), /BMC said no/);
    }
  }
});
