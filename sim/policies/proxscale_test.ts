import assert from "node:assert/strict";
import { provision as coreProvision } from "../../core/provisioning.ts";
import { disrupt as coreDisrupt } from "../../core/disruption.ts";
import { proxscaleDecide, proxscalePolicy } from "./proxscale.ts";
import { CAPACITY_DECIDERS, type CapacityDeciders } from "../../core/reconcile.ts";
import { defaultSimConfig } from "./default_config.ts";
import { runSimulation } from "../engine/engine.ts";
import { defaultWorld } from "../engine/world_spec.ts";
import type { Decide, Decision } from "../engine/policy.ts";
import type { ProxscaleState } from "./proxscale.ts";
import { defaultSyntheticParams, synthesize } from "../trace/synthetic.ts";

Deno.test("the sim's proxscale policy decides with the very functions the daemon imports", () => {
  // Same module, same function objects: there is no copy of the core inside sim/.
  assert.equal(CAPACITY_DECIDERS.provision, coreProvision);
  assert.equal(CAPACITY_DECIDERS.disrupt, coreDisrupt);
  assert.deepEqual(Object.keys(CAPACITY_DECIDERS).sort(), ["disrupt", "provision"]);
});

Deno.test("every proxscale decision is exactly the core's plans: no second decider", () => {
  const config = defaultSimConfig();
  const trace = synthesize({ ...defaultSyntheticParams(1, 1, 11), name: "one-day" });
  const calls = { provision: 0, disrupt: 0 };
  type Seen = { claims: string[]; replacements: string[]; disrupted: string[] };
  let seen: Seen = { claims: [], replacements: [], disrupted: [] };
  const spy: CapacityDeciders = {
    provision: (s, c) => {
      calls.provision++;
      const plan = CAPACITY_DECIDERS.provision(s, c);
      seen.claims = plan.claims.map((x) => x.name);
      return plan;
    },
    disrupt: (s, c, st) => {
      calls.disrupt++;
      const plan = CAPACITY_DECIDERS.disrupt(s, c, st);
      seen.replacements = plan.commands.flatMap((x) => x.replacements.map((r) => r.name));
      seen.disrupted = plan.commands.flatMap((x) => x.candidates.map((n) => n.nodeClaim));
      return plan;
    },
  };
  const inner = proxscaleDecide(spy);
  let decisions = 0;
  let deletions = 0;
  const checked: Decide<ProxscaleState> = (snap, cfg, state) => {
    seen = { claims: [], replacements: [], disrupted: [] };
    const before = { ...calls };
    const d: Decision<ProxscaleState> = inner(snap, cfg, state);
    decisions++;
    assert.equal(calls.provision - before.provision, 1, "provision once per decision");
    assert.equal(calls.disrupt - before.disrupt, 1, "disrupt once per decision");
    assert.deepEqual(d.launches.map((l) => l.name), [...seen.claims, ...seen.replacements]);
    // Deletions come from this pass's commands or from commands waiting on replacements.
    const waited = state.waiting.flatMap((w) => w.candidates);
    for (const del of d.deletions) {
      assert.ok(seen.disrupted.includes(del.claim) || waited.includes(del.claim), del.claim);
    }
    deletions += d.deletions.length;
    return d;
  };
  const policy = { ...proxscalePolicy(config, spy), decide: checked };
  const spied = runSimulation({ trace, policy, world: defaultWorld(), seed: 4 });
  assert.ok(decisions > 100 && deletions > 0, `${decisions} decisions, ${deletions} deletions`);
  // And the policy built with its defaults behaves identically: its defaults are the core.
  const plain = runSimulation({
    trace,
    policy: proxscalePolicy(config),
    world: defaultWorld(),
    seed: 4,
  });
  assert.deepEqual(plain.summary, spied.summary);
});
