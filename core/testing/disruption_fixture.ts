/**
 * Minimal clusters for testing one disruption method in isolation: a prepared pass
 * (core/disruption_pass.ts) over a few managed nodes in one pool, on which a test calls a single
 * method's `decide`.
 *
 * May import: core/ and core/testing/.
 */
import type { NodePool, Pod } from "../model.ts";
import { DisruptionPass } from "../disruption_pass.ts";
import { initialDisruptionState } from "../disruption.ts";
import type { DisruptionCommand } from "../disruption_plan.ts";
import { managedNode, snapshotOf, testConfig, testPool } from "./arbitraries.ts";

/** The pool "general" with some of its fields and disruption settings replaced. */
export function generalPool(
  over: Partial<NodePool> = {},
  disruption: Partial<NodePool["disruption"]> = {},
): NodePool {
  const base = testPool("general", over);
  return { ...base, disruption: { ...base.disruption, ...disruption } };
}

/** A pass over `nodes` (from managedNode) running `pods`, ready for a method to decide. */
export function passOver(
  nodes: ReturnType<typeof managedNode>[],
  pods: Pod[] = [],
  pool: NodePool = generalPool(),
): DisruptionPass {
  const snapshot = snapshotOf({
    nodes: nodes.map((n) => n.node),
    nodeClaims: nodes.map((n) => n.claim),
    pods,
  });
  return new DisruptionPass(snapshot, testConfig({ nodePools: [pool] }), initialDisruptionState());
}

/** Each command as its method, reason code and node names: what a test compares. */
export function summary(commands: readonly DisruptionCommand[]): [string, string, string[]][] {
  return commands.map((c) => [c.method, c.reason.code, c.candidates.map((n) => n.node)]);
}
