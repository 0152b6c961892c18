/**
 * The README's "Scale a fake cluster" walkthrough, run as written: its commands are read from
 * the README itself (only the temporary paths and the fixed ports change, so parallel tests do
 * not collide), then the user's next questions are asked with kubectl the way a user asks them:
 * `kubectl describe` on a NodeClaim, a pod and a Node must say why proxscale acted (Events matched
 * by the object's uid, as describe matches them) and why it keeps a node, a pod no VM can hold
 * must say so, and scaling to zero must leave no Node, NodeClaim or VM behind.
 */
import assert from "node:assert/strict";
import { kubectl, kubectlEnv } from "./testing/kubectl.ts";
import {
  eventually,
  type Proc,
  pveInventory,
  ROOT,
  spawnProxscale,
  stopProc,
} from "./testing/e2e_install.ts";
import { PveClient } from "../adapters/proxmox/client.ts";

/** A PVE client from what `fake-cluster` printed (URL, fingerprint, token). */
function pveOf(printed: string): PveClient {
  const token = /pve token: +([^=\s]+)=(\S+)/.exec(printed)!;
  return new PveClient({
    endpoint: /proxmox: +(https:\/\/\S+)/.exec(printed)![1]!,
    tokenId: token[1]!,
    tokenSecret: token[2]!,
    tls: { fingerprint: /fingerprint: +(\S+)/.exec(printed)![1]! },
    retry: { attempts: 2, baseMs: 100, maxMs: 500 },
  });
}

/** The sh block under "## Scale a fake cluster", one command per line. */
async function walkthrough(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const section = readme.slice(readme.indexOf("## Scale a fake cluster"));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "README has a sh block under 'Scale a fake cluster'");
  return block[1]!.split("\n").map((l) => l.trim()).filter(Boolean);
}

/** `main.ts ARGS &` of a README line, with the README's paths swapped for the test's. */
function proxscaleArgs(line: string, paths: Record<string, string>): string[] {
  const at = line.indexOf("main.ts ");
  let rest = line.slice(at + "main.ts ".length).replace(/\s*&$/, "");
  for (const [from, to] of Object.entries(paths)) rest = rest.replaceAll(from, to);
  return rest.split(/\s+/);
}

async function describe(env: Record<string, string>, what: string): Promise<string> {
  const r = await kubectl(env, ["describe", what]);
  assert.equal(r.code, 0, `kubectl describe ${what}: ${r.stderr}`);
  return r.stdout;
}

/** The Events section of a `kubectl describe` output. */
function eventsOf(described: string): string {
  return described.slice(described.lastIndexOf("Events:"));
}

async function names(env: Record<string, string>, kind: string, ...args: string[]) {
  const r = await kubectl(env, ["get", kind, ...args, "-o", "name"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").filter(Boolean);
}

async function running(env: Record<string, string>, app: string): Promise<string[]> {
  const r = await kubectl(env, [
    "get",
    "pods",
    "-l",
    `app=${app}`,
    "-o",
    'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.metadata.deletionTimestamp}{"\\n"}{end}',
  ]);
  return r.stdout.trim().split("\n").map((l) => l.trim().split(" "))
    .filter((f) => f[1] === "Running" && f.length === 2).map((f) => f[0]!);
}

Deno.test({
  name: "README walkthrough: kubectl create/set/scale work on the fake cluster, and describe " +
    "says why each NodeClaim, pod and Node was launched, nominated, refused or removed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lines = await walkthrough();
    const dir = await Deno.makeTempDir({ prefix: "readme-walkthrough-" });
    const paths = { "/tmp/kc": `${dir}/kc`, "/tmp/ps.yaml": `${dir}/ps.yaml` };
    const env = kubectlEnv(`${dir}/kc`, dir);
    const procs: Proc[] = [];
    try {
      for (const line of lines) {
        if (line.startsWith("export ")) continue; // the env above carries KUBECONFIG
        if (line.includes("main.ts ")) {
          const args = proxscaleArgs(line, paths);
          if (args[0] === "fake-cluster") {
            // Fixed ports would collide with other tests: any free ones, the same commands.
            args.push("--port=0", "--pve-port=0", "--boot-delay=1", "--seed=5");
          } else if (args[0] === "run") {
            args.push("--http-port=0");
          }
          const p = spawnProxscale(args[0]!, args);
          procs.push(p);
          if (args[0] === "fake-cluster") {
            await eventually(
              "fake-cluster to print its URLs",
              60_000,
              () => Promise.resolve(p.output().includes("try:") ? true : undefined),
            );
          }
          continue;
        }
        assert.ok(line.startsWith("kubectl "), `README line not understood: ${line}`);
        if (line.includes("--watch")) continue; // the user watches; the test asks below
        const args = line.slice("kubectl ".length).split(/\s+/);
        const r = await eventually(`README: ${line}`, 30_000, async () => {
          const r = await kubectl(env, args);
          // Until the API server is up, kubectl cannot connect: retry that, nothing else.
          return r.code !== 0 && /connection refused/.test(r.stderr) ? undefined : r;
        });
        assert.equal(r.code, 0, `README: ${line}\n${r.stderr}`);
      }
      assert.equal(procs.length, 2, "the README starts fake-cluster and run");

      // The README's six pods run on the VMs proxscale launched for them.
      await eventually("the README's 6 web pods Running", 120_000, async () => {
        return (await running(env, "web")).length === 6 ? true : undefined;
      });
      const claims = await names(env, "nodeclaims");
      assert.ok(claims.length > 0);
      // Each NodeClaim says why it exists, in the decision's words, where describe looks.
      for (const c of claims) {
        assert.match(eventsOf(await describe(env, c)), /PodsPending .*pending pods? need/);
      }

      // More pods than the nodes hold: a new NodeClaim, and each pod it is for says so.
      let r = await kubectl(env, ["scale", "deployment", "web", "--replicas=14"]);
      assert.equal(r.code, 0, r.stderr);
      const nominated = await eventually(
        "a pod told which NodeClaim comes for it",
        120_000,
        async () => {
          const g = await kubectl(env, [
            "get",
            "events",
            "--field-selector",
            "reason=PodsPending,involvedObject.kind=Pod",
            "-o",
            'jsonpath={range .items[*]}{.involvedObject.name}{"\\n"}{end}',
          ]);
          const live = new Set(await running(env, "web"));
          return g.stdout.trim().split("\n").find((n) => live.has(n));
        },
      );
      assert.match(
        eventsOf(await describe(env, `pod/${nominated}`)),
        /PodsPending .*NodeClaim \S+ is launched for this pod: /,
      );

      // Why a node stays, asked where users ask it: on the NodeClaim and on its Node.
      const kept =
        /(Unconsolidatable|InsufficientSavings|PdbBlocked|BudgetExhausted|DoNotDisrupt) +\S+ +proxscale +\S/;
      await eventually("a kept node says why it stays", 90_000, async () => {
        for (const c of await names(env, "nodeclaims")) {
          const onClaim = eventsOf((await kubectl(env, ["describe", c])).stdout);
          if (!kept.test(onClaim)) continue;
          const node = c.slice(c.indexOf("/") + 1);
          if (kept.test(eventsOf((await kubectl(env, ["describe", `node/${node}`])).stdout))) {
            return true;
          }
        }
        return undefined;
      });

      // A user deletes a Node (`kubectl delete node`): its NodeClaim and VM follow, as with
      // Karpenter, and its pods run again elsewhere; nothing is left Ready without a Node.
      const victim = (await names(env, "nodes"))[0]!.slice("node/".length);
      r = await kubectl(env, ["delete", "node", victim]);
      assert.equal(r.code, 0, r.stderr);
      await eventually(`NodeClaim ${victim} gone after its Node was deleted`, 120_000, async () => {
        const claims = await names(env, "nodeclaims");
        return claims.includes(`nodeclaim.proxscale.io/${victim}`) ? undefined : true;
      });
      const why = await kubectl(env, [
        "get",
        "events",
        "--field-selector",
        `reason=NodeDeleted,involvedObject.name=${victim}`,
        "-o",
        "jsonpath={.items[*].message}",
      ]);
      assert.match(why.stdout, new RegExp(`node ${victim} of NodeClaim ${victim} was deleted`));
      await eventually("14 web pods Running again", 120_000, async () => {
        return (await running(env, "web")).length === 14 ? true : undefined;
      });

      // A pod no VM shape can hold: describe says why no NodeClaim comes, next to the
      // scheduler's own FailedScheduling.
      r = await kubectl(env, ["create", "deployment", "huge", "--image=registry.invalid/pause:3"]);
      assert.equal(r.code, 0, r.stderr);
      r = await kubectl(env, ["set", "resources", "deployment", "huge", "--requests=cpu=64"]);
      assert.equal(r.code, 0, r.stderr);
      await eventually("the 64-vCPU pod told it fits no shape", 60_000, async () => {
        for (const p of await names(env, "pods", "-l", "app=huge")) {
          const ev = eventsOf((await kubectl(env, ["describe", p])).stdout);
          if (/NoShapeFits .*64 vCPU/.test(ev) && /FailedScheduling/.test(ev)) return true;
        }
        return undefined;
      });

      // Scale to zero: every Node, NodeClaim and VM goes, and each removal said why on the
      // NodeClaim and on its Node.
      r = await kubectl(env, ["delete", "deployment", "huge"]);
      assert.equal(r.code, 0, r.stderr);
      r = await kubectl(env, ["scale", "deployment", "web", "--replicas=0"]);
      assert.equal(r.code, 0, r.stderr);
      await eventually("no Node and no NodeClaim left", 240_000, async () => {
        const left = [...await names(env, "nodes"), ...await names(env, "nodeclaims")];
        return left.length === 0 ? true : undefined;
      });
      const removals = await kubectl(env, [
        "get",
        "events",
        "-A",
        "--field-selector",
        "source=proxscale",
        "-o",
        'jsonpath={range .items[*]}{.involvedObject.kind} {.reason} {.involvedObject.uid}{"\\n"}{end}',
      ]);
      const rows = removals.stdout.trim().split("\n").map((l) => l.split(" "));
      const removedBecause = (kind: string) =>
        rows.filter((f) => f[0] === kind && (f[1] === "Empty" || f[1] === "Underutilized"));
      assert.ok(removedBecause("NodeClaim").length > 0, removals.stdout);
      assert.ok(removedBecause("Node").length > 0, removals.stdout);
      // Every proxscale Event names its object's uid, or describe would not show it.
      for (const f of rows) assert.ok(f[2] && f[2].length > 0, `an Event without uid: ${f}`);
      // Counted on the Proxmox side too, as a user would: no VM and no seed ISO is left.
      const pve = pveOf(procs[0]!.output());
      try {
        const inv = await eventually("no VM left on the Proxmox hosts", 60_000, async () => {
          const inv = await pveInventory(pve);
          return inv.vms.length === 0 && inv.seedIsos.length === 0 ? inv : undefined;
        });
        assert.deepEqual(inv, { vms: [], seedIsos: [] });
      } finally {
        pve.close();
      }
      const run = procs[1]!;
      assert.ok(!run.exited(), run.output());
    } finally {
      for (const p of procs.reverse()) await stopProc(p);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
