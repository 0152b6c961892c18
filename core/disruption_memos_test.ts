/**
 * The disruption pass keeps small memos between calls (pools and templates by name per Config
 * object, each NodeClaim's last pod-set digest). Differential property: on generated clusters, a
 * pass decides exactly the plan it decides on a fresh config object, whatever pass ran before it
 * under the same NodeClaim and pod names, even when the config object it gets was edited in place
 * since; and every pod-set digest it carries to the next pass is the one computed from scratch.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { disrupt } from "./disruption.ts";
import type { Config } from "./model.ts";
import { needsNewHome } from "./disruption_pods.ts";
import { base36, fnv1a } from "./hash.ts";
import { disruptionWorld } from "./testing/arbitraries.ts";

/** A new Config object with new lists holding the same pools and templates. */
function freshConfig(c: Config): Config {
  return { ...c, nodePools: [...c.nodePools], machineTemplates: [...c.machineTemplates] };
}

Deno.test("a disruption pass decides the same plan whatever pass ran before it and however its config object was edited", () => {
  fc.assert(
    fc.property(disruptionWorld(), disruptionWorld(), (before, w) => {
      const reference = disrupt(w.snapshot, freshConfig(w.config), w.state);
      // An earlier pass over another cluster with the same node, claim and pod names, then the
      // same config object edited in place into this cluster's config.
      const edited = freshConfig(before.config);
      disrupt(before.snapshot, edited, before.state);
      edited.nodePools.splice(0, edited.nodePools.length, ...w.config.nodePools);
      edited.machineTemplates.splice(
        0,
        edited.machineTemplates.length,
        ...w.config.machineTemplates,
      );
      edited.settings = w.config.settings;
      const plan = disrupt(w.snapshot, edited, w.state);
      assert.deepEqual(plan, reference);
      // The digests handed to the next pass, against the digest made from scratch.
      for (const [claim, ev] of Object.entries(plan.state.podEvents ?? {})) {
        const node = w.snapshot.nodeClaims.find((c) => c.name === claim)?.nodeName;
        const movers = w.snapshot.pods.filter((p) => p.nodeName === node && needsNewHome(p));
        let sum = 0;
        for (const p of movers) sum = (sum + fnv1a(p.uid)) >>> 0;
        assert.equal(ev.pods, `${movers.length}:${base36(sum)}`, claim);
      }
    }),
    { numRuns: 250 },
  );
});
