/**
 * Properties of the NodeClaim lifecycle over random histories: conditions only move forward,
 * transition times move only with the status, Ready means the three others, timeouts fire
 * exactly at their configured durations, and a finalizer is never released over a live VM.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decideLifecycle, type LifecycleInput } from "./lifecycle.ts";
import { providerIdFor, registrationSync } from "./lifecycle_nodes.ts";
import { LIFECYCLE_CONDITIONS } from "./lifecycle_conditions.ts";
import type { Condition, ConditionType, Node, NodeClaim, Taint, VM } from "./model.ts";
import { GiB } from "./quantity.ts";
import { T0, testPool, testTemplate } from "./testing/arbitraries.ts";

const RUNS = { numRuns: 1000 };
const STARTUP: Taint = { key: "node.cilium.io/agent-not-ready", effect: "NoSchedule" };
const UNREG: Taint = { key: "proxscale.io/unregistered", effect: "NoExecute" };
const pool = testPool("general", { labels: { tier: "a" }, startupTaints: [STARTUP] });
const template = testTemplate();

const baseClaim = (over: Partial<NodeClaim> = {}): NodeClaim => ({
  name: "c1",
  nodePool: "general",
  machineTemplate: "tpl",
  provider: "pve",
  shape: { name: "2c", cpu: 2000, memory: 4 * GiB },
  createdAt: T0,
  labels: {},
  taints: [],
  startupTaints: [STARTUP],
  conditions: [],
  ...over,
});
const theVm = (status: VM["status"]): VM => ({
  vmid: 200,
  host: "pve1",
  provider: "pve",
  name: "c1",
  tags: ["proxscale"],
  status,
  size: { cpu: 2000, memory: 4 * GiB },
  claim: "c1",
});
const SYNC = registrationSync(baseClaim(), pool, template);

/** One observation of the world around the claim. */
const observation = fc.record({
  dt: fc.integer({ min: 0, max: 400_000 }),
  vm: fc.constantFrom<"none" | "stopped" | "running">("none", "stopped", "running"),
  nodes: fc.integer({ min: 0, max: 2 }),
  synced: fc.boolean(),
  ready: fc.boolean(),
  startupTaint: fc.boolean(),
  launchError: fc.option(fc.constant("500 clone failed"), { nil: undefined }),
});
type Obs = typeof observation extends fc.Arbitrary<infer T> ? T : never;

function nodesFor(o: Obs): Node[] {
  const mk = (name: string): Node => ({
    name,
    providerID: providerIdFor("pve", 200),
    labels: o.synced ? SYNC.labels : {},
    taints: [...(o.synced ? [] : [UNREG]), ...(o.startupTaint ? [STARTUP] : [])],
    allocatable: { cpu: 1900, memory: 3 * GiB },
    ready: o.ready,
    createdAt: T0,
  });
  return Array.from({ length: o.nodes }, (_, i) => mk(`n${i}`));
}

const settings = { launchTimeout: 600_000, registrationTimeout: 900_000, nodeRepairAfter: 300_000 };

const byType = (list: Condition[]) => new Map(list.map((c) => [c.type, c]));

Deno.test("property: lifecycle conditions only move forward and keep transition times", () => {
  fc.assert(
    fc.property(fc.array(observation, { minLength: 1, maxLength: 25 }), (history) => {
      let claim = baseClaim();
      let now = T0;
      let notReadySince: number | undefined;
      for (const o of history) {
        now += o.dt;
        const d = decideLifecycle({
          claim,
          nodes: nodesFor(o),
          vm: o.vm === "none" ? undefined : theVm(o.vm),
          pool,
          template,
          settings,
          now,
          notReadySince,
          launchError: o.launchError,
        });
        const before = byType(claim.conditions);
        const after = byType(d.conditions);
        for (const t of LIFECYCLE_CONDITIONS) {
          const b = before.get(t);
          const a = after.get(t)!;
          assert.ok(a, `${t} is always written`);
          if (b?.status === "True") assert.deepEqual(a, b, `${t} stayed True unchanged`);
          if (b && b.status === a.status) assert.equal(a.lastTransitionTime, b.lastTransitionTime);
          if (b && b.status !== a.status) assert.equal(a.lastTransitionTime, now);
        }
        if (after.get("Ready")!.status === "True") {
          for (const t of ["Launched", "Registered", "Initialized"] as const) {
            assert.equal(after.get(t)!.status, "True", `Ready implies ${t}`);
          }
        }
        for (const a of d.actions) {
          assert.ok(a.reason.code && a.reason.message, "every action has a reason");
        }
        claim = { ...claim, conditions: d.conditions };
        notReadySince = d.notReadySince;
      }
    }),
    RUNS,
  );
});

const has = (input: LifecycleInput, code: string) =>
  decideLifecycle(input).actions.some((a) => a.kind === "DeleteClaim" && a.reason.code === code);

const trueCond = (type: ConditionType, at: number): Condition => ({
  type,
  status: "True",
  reason: type,
  message: "",
  lastTransitionTime: at,
});

Deno.test("property: the launch timeout fires exactly at launchTimeout", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3_600_000 }),
      fc.integer({ min: 0, max: 7_200_000 }),
      fc.constantFrom<"none" | "stopped">("none", "stopped"),
      (timeout, age, vm) => {
        const input: LifecycleInput = {
          claim: baseClaim(),
          nodes: [],
          vm: vm === "none" ? undefined : theVm("stopped"),
          pool,
          template,
          settings: { ...settings, launchTimeout: timeout },
          now: T0 + age,
        };
        assert.equal(has(input, "LaunchTimeout"), age >= timeout);
      },
    ),
    RUNS,
  );
});

Deno.test("property: the registration timeout fires exactly at registrationTimeout after launch", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3_600_000 }),
      fc.integer({ min: 0, max: 7_200_000 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      (timeout, sinceLaunch, launchDelay) => {
        const launchedAt = T0 + launchDelay;
        const input: LifecycleInput = {
          claim: baseClaim({ conditions: [trueCond("Launched", launchedAt)] }),
          nodes: [],
          vm: theVm("running"),
          pool,
          template,
          settings: { ...settings, registrationTimeout: timeout },
          now: launchedAt + sinceLaunch,
        };
        assert.equal(has(input, "RegistrationTimeout"), sinceLaunch >= timeout);
        assert.equal(
          has(input, "LaunchTimeout"),
          false,
          "a launched claim never times out launching",
        );
      },
    ),
    RUNS,
  );
});

Deno.test("property: node repair fires exactly at nodeRepairAfter of NotReady", () => {
  const ready = LIFECYCLE_CONDITIONS.map((t) => trueCond(t, T0));
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3_600_000 }),
      fc.integer({ min: 0, max: 7_200_000 }),
      (after, down) => {
        const node: Node = {
          name: "n0",
          providerID: providerIdFor("pve", 200),
          labels: SYNC.labels,
          taints: [],
          allocatable: { cpu: 1900, memory: 3 * GiB },
          ready: false,
          createdAt: T0,
        };
        const since = T0 + 1_000;
        const input: LifecycleInput = {
          claim: baseClaim({ conditions: ready }),
          nodes: [node],
          vm: theVm("running"),
          pool,
          template,
          settings: { ...settings, nodeRepairAfter: after },
          now: since + down,
          notReadySince: since,
        };
        assert.equal(has(input, "NodeNotReady"), down >= after);
        assert.equal(has({ ...input, nodes: [{ ...node, ready: true }] }, "NodeNotReady"), false);
      },
    ),
    RUNS,
  );
});

Deno.test("property: a finalizer is never released while the VM or its node is there", () => {
  fc.assert(
    fc.property(observation, fc.boolean(), (o, inventoryKnown) => {
      const vm = o.vm === "none" ? undefined : theVm(o.vm);
      const nodes = nodesFor(o);
      const d = decideLifecycle({
        claim: baseClaim({ deleting: true }),
        nodes,
        vm,
        pool,
        template,
        settings,
        now: T0 + o.dt,
        vmInventoryKnown: inventoryKnown,
      });
      const released = d.actions.some((a) => a.kind === "ReleaseFinalizer");
      assert.equal(released, vm === undefined && nodes.length === 0 && inventoryKnown);
      assert.ok(d.actions.length <= 1, "one step at a time");
    }),
    RUNS,
  );
});
