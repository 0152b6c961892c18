/**
 * Bootstrap checks that belong to configuration load: an inline `bootstrap.userData` template
 * must parse and name only known variables, so a typo is a config error with line:column, not
 * a node that boots and never joins. Shaped like adapters/config/load.ts crossCheck entries
 * (path relative to the MachineTemplate's `bootstrap`), so the loader can append them.
 */
import { checkBootstrapTemplate } from "./template.ts";

/** One problem: where in `bootstrap` it is, and what is wrong (template line:column included). */
export type BootstrapProblem = {
  path: PropertyKey[];
  message: string;
  /** Position inside the template text, so the loader can point into the config file. */
  inner: { line: number; col: number; message: string };
};

/** Problems of one MachineTemplate's written `bootstrap` block; empty when it is fine. */
export function bootstrapProblems(
  bootstrap: { mode?: string; template?: string; userData?: string | undefined },
): BootstrapProblem[] {
  if (bootstrap.userData === undefined) return [];
  const checked = checkBootstrapTemplate(bootstrap.userData);
  if (checked.ok) return [];
  return checked.error.map((e) => ({
    path: ["userData"],
    message: `template line ${e.line}, column ${e.col}: ${e.message}`,
    inner: { line: e.line, col: e.col, message: e.message },
  }));
}
