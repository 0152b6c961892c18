/**
 * The runtime flags of deno.json's compile task: the V8 flags and permissions the shipped
 * binary bakes in, so that the memory probes run the daemon as it ships.
 *
 * May import: nothing.
 */

/** The compile task's `--v8-flags=...`, `--allow-*` and `--ignore-env` arguments. */
export async function shippedFlags(): Promise<string[]> {
  const deno = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const task = String(deno.tasks?.compile ?? "");
  const flags: string[] = [];
  for (const m of task.matchAll(/'([^']+)'|(\S+)/g)) {
    const f = m[1] ?? m[2]!;
    if (/^--(v8-flags|allow-[a-z]+|ignore-env)(=|$)/.test(f)) flags.push(f);
  }
  return flags;
}

/** The V8 flags alone, as the list after `--v8-flags=` ("" when the task sets none). */
export async function shippedV8Flags(): Promise<string> {
  const f = (await shippedFlags()).find((x) => x.startsWith("--v8-flags="));
  return f ? f.slice("--v8-flags=".length) : "";
}
