/**
 * The daemon's memory guards on what it loads: `proxscale run` must not load
 * @kubernetes/client-node at start (its import alone costs ~80 MB resident, docs/performance.md).
 * Only dynamic imports (rest.ts's exec-plugin path) may reach it. Use PatchType from
 * adapters/kubernetes/client.ts instead of client-node's PatchStrategy. The front-door worker,
 * a second V8 isolate, loads no npm package at all: it is handed its RestConfig as plain data
 * and never parses a kubeconfig (adapters/kubernetes/kubeconfig.ts holds the YAML parser).
 */
import assert from "node:assert/strict";

type Dep = { specifier: string; code?: { specifier?: string }; isDynamic?: boolean };
type Info = {
  roots: string[];
  modules: { specifier: string; dependencies?: Dep[] }[];
  redirects: Record<string, string>;
};

/** Modules loaded when `root` is imported (static imports only, transitively). */
async function staticGraph(
  root: string,
): Promise<{ reached: Set<string>; via: Map<string, string> }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as Info;
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const resolve = (s: string) => info.redirects[s] ?? s;
  const reached = new Set<string>();
  const via = new Map<string, string>();
  const todo = info.roots.map(resolve);
  while (todo.length) {
    const s = todo.pop()!;
    if (reached.has(s)) continue;
    reached.add(s);
    for (const d of bySpec.get(s)?.dependencies ?? []) {
      if (d.isDynamic || !d.code?.specifier) continue;
      const t = resolve(d.code.specifier);
      if (!via.has(t)) via.set(t, s);
      todo.push(t);
    }
  }
  return { reached, via };
}

Deno.test("proxscale run loads no @kubernetes/client-node at start", async () => {
  const { reached, via } = await staticGraph("cli/run.ts");
  const clientNode = [...reached].filter((s) => s.includes("@kubernetes/client-node"));
  assert.deepEqual(
    clientNode.map((s) => `${s} imported by ${via.get(s)}`),
    [],
    "a static import of client-node puts ~80 MB back into the daemon",
  );
  assert.ok(reached.size > 20, "the graph was walked");
});

Deno.test("the front-door worker loads no npm package (no YAML parser, no client-node) at start", async () => {
  const { reached, via } = await staticGraph("daemon/front_door_worker.ts");
  const npm = [...reached].filter((s) => s.startsWith("npm:"));
  assert.deepEqual(
    npm.map((s) => `${s} imported by ${via.get(s)}`),
    [],
    "the worker is a second V8 isolate: each npm package it loads is paid twice (yaml ~4-9 MB)",
  );
  assert.ok(reached.has(new URL("../adapters/kubernetes/leader_elector.ts", import.meta.url).href));
});
