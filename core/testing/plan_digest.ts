/**
 * Digests of whole decisions, so a speed change can prove it decides the same: SHA-256 of the
 * stable JSON of a provisioning plan (claims, placements, unhelped pods with their reasons) or
 * of a disruption plan (commands, verdicts, budgets, simulation count).
 *
 * May import: core/ and core/testing/.
 */
import { stableJson } from "../hash.ts";
import type { ProvisionPlan } from "../provisioning.ts";
import type { DisruptionPlan } from "../disruption_plan.ts";

async function sha256(text: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 (hex) of the whole provisioning plan, order included. */
export function provisionDigest(plan: ProvisionPlan): Promise<string> {
  return sha256(stableJson({
    claims: plan.claims,
    placements: plan.placements,
    unhelped: plan.unhelped,
  }));
}

/** SHA-256 (hex) of a disruption plan's decisions (its carried-over state left out). */
export function disruptionDigest(plan: DisruptionPlan): Promise<string> {
  return sha256(stableJson({
    commands: plan.commands,
    verdicts: plan.verdicts,
    budgets: plan.budgets,
    simulations: plan.simulations,
  }));
}
