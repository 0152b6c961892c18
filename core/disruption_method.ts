/**
 * The one small interface every disruption method implements (one method per
 * core/disruption_method_*.ts file; core/disruption_methods.ts lists them in the order a pass
 * runs them).
 *
 * May import: core/ only.
 */
import type { BudgetReason } from "./disruption_budgets.ts";
import type { DisruptionCommand, DisruptionMethodName } from "./disruption_plan.ts";
import type { DisruptionPass } from "./disruption_pass.ts";

/**
 * How a method treats do-not-disrupt and PodDisruptionBudgets. `Graceful`: always respects
 * them. `Eventual`: respects them until the pool's terminationGracePeriod has passed since the
 * node drifted or expired, then takes the node anyway (a local volume on storage that is not
 * replicated still holds it).
 */
export type DisruptionClass = "Graceful" | "Eventual";

/** One way of taking nodes away, and why. */
export interface DisruptionMethod {
  /** The name its commands carry (`DisruptionCommand.method`). */
  readonly name: DisruptionMethodName;
  /**
   * The disruption budget reason it spends, which is also the Reason code of its commands
   * (drift's commands for a removed NodePool say NodePoolRemoved instead).
   */
  readonly reason: BudgetReason;
  /** Whether it ever overrides do-not-disrupt and PodDisruptionBudgets. */
  readonly class: DisruptionClass;
  /**
   * Plans this method's commands into the pass and returns them (none: nothing to do). Each
   * command is committed before the next candidate is weighed, so budgets, PDBs and the
   * simulation see it; a kept candidate gets its reason through `pass.note`.
   */
  decide(pass: DisruptionPass): DisruptionCommand[];
}
