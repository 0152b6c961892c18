/**
 * The hand-written packaging files: the compile task embeds only runtime code with narrow baked
 * permissions (and CI's bundle smoke test runs with the same ones), the Dockerfile builds that
 * binary and ships it as non-root, and the systemd unit is hardened and reads its secrets as
 * credentials.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const read = (p: string) => Deno.readTextFile(new URL(p, root));

const denoJson = JSON.parse(await read("deno.json")) as { tasks: Record<string, string> };

function flag(cmd: string, name: string): string | undefined {
  const m = new RegExp(`--${name}=([^'" ]+)`).exec(cmd);
  return m?.[1];
}

Deno.test("deno task compile embeds main.ts with baked, narrow permissions", () => {
  const c = denoJson.tasks.compile!;
  assert.match(c, /^deno compile /);
  assert.match(c, / main\.ts$/);
  assert.match(c, /--exclude-unused-npm/, "test-only npm packages (fast-check) stay out");
  assert.match(c, /--frozen/);
  for (const broad of ["-A", "--allow-all", "--allow-run", "--allow-write", "--allow-ffi"]) {
    assert.ok(!c.split(" ").includes(broad), `no ${broad}`);
  }
  const env = flag(c, "allow-env")!.split(",");
  for (const v of ["LOG_TOKENS", "LOG_STREAM", "KUBECONFIG", "KUBERNETES_SERVICE_HOST"]) {
    assert.ok(env.includes(v), v);
  }
  assert.match(c, /--ignore-env/, "other variables read as unset instead of crashing");
});

Deno.test("CI's bundle smoke test runs with the compiled binary's permissions", async () => {
  const extra = await read(".ci/extra");
  assert.equal(
    flag(extra, "allow-env"),
    flag(denoJson.tasks.compile!, "allow-env"),
    ".ci/extra PERMS and deno.json compile must match",
  );
  assert.match(
    denoJson.tasks.bundle!,
    /deno bundle .*--platform=deno main\.ts -o dist\/proxscale\.js/,
  );
  const mode = (await Deno.stat(new URL(".ci/extra", root))).mode ?? 0o755;
  assert.ok(mode & 0o100, ".ci/extra is executable");
});

Deno.test("the Dockerfile compiles in denoland/deno:2.9.6 and ships the binary as non-root", async () => {
  const d = await read("Dockerfile");
  const froms = [...d.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.equal(froms[0], "denoland/deno:2.9.6");
  assert.match(froms.at(-1)!, /^gcr\.io\/distroless\/cc-debian12/);
  assert.match(d, /RUN deno task compile/);
  assert.match(d, /COPY --from=build \/src\/dist\/proxscale \/usr\/local\/bin\/proxscale/);
  const user = /^USER (\d+)/m.exec(d);
  assert.ok(user && Number(user[1]) > 0, "runtime USER is a non-root uid");
  assert.match(d, /^ENTRYPOINT \["\/usr\/local\/bin\/proxscale"\]/m);
  const ignore = await read(".dockerignore");
  for (const p of [".git", "tests", "**/*_test.ts"]) {
    assert.ok(ignore.split("\n").includes(p), p);
  }
});

function unitKeys(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  return keys;
}

Deno.test("the systemd unit runs proxscale hardened, with secrets as credentials", async () => {
  const k = unitKeys(await read("deploy/systemd/proxscale.service"));
  assert.deepEqual(k.get("ExecStart"), [
    "/usr/local/bin/proxscale run --config=/etc/proxscale/config.yaml " +
    "--namespace=proxscale-system --leader-elect --lease-name=proxscale-leader --http-port=8080",
  ]);
  assert.deepEqual(k.get("EnvironmentFile"), ["/etc/proxscale/proxscale.env"]);
  for (const yes of ["DynamicUser", "NoNewPrivileges", "PrivateTmp", "ProtectHome"]) {
    assert.deepEqual(k.get(yes), ["yes"], yes);
  }
  assert.deepEqual(k.get("ProtectSystem"), ["strict"]);
  assert.deepEqual(k.get("CapabilityBoundingSet"), [""]);
  assert.ok(k.get("LoadCredential")?.includes("pve-token:/etc/proxscale/pve-token"));
  assert.equal(k.get("MemoryDenyWriteExecute"), undefined, "V8's JIT needs W+X pages");
  const env = unitKeys(await read("deploy/systemd/proxscale.env.example"));
  assert.equal(env.size, 0, "the example sets nothing until the operator uncomments it");
  const example = await read("deploy/systemd/proxscale.env.example");
  assert.match(example, /^#PROXSCALE_PVE_TOKEN=/m);
});

/** Whether a repository-relative path is left out of the Docker build context. */
function dockerIgnored(path: string, patterns: string[]): boolean {
  return patterns.some((p) => {
    if (p.startsWith("**/*")) return path.endsWith(p.slice(4));
    if (p.startsWith("*")) return !path.includes("/") && path.endsWith(p.slice(1));
    if (p.endsWith("*")) return path.startsWith(p.slice(0, -1));
    return path === p || path.startsWith(`${p}/`);
  });
}

Deno.test(".dockerignore keeps every module main.ts loads; main.ts reaches no test-only package", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: new URL(".", root),
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success, "deno info main.ts");
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: { specifier: string }[] }[];
  };
  // What `--exclude-unused-npm` embeds is what main.ts reaches: no test-only package.
  const npm = info.modules.flatMap((m) => m.dependencies ?? []).map((d) => d.specifier)
    .filter((s) => s === "fast-check" || s.startsWith("npm:fast-check"));
  assert.deepEqual(npm, [], "main.ts reaches fast-check");
  const local = info.modules.map((m) => m.specifier).filter((s) => s.startsWith(root.href))
    .map((s) => s.slice(root.href.length));
  assert.ok(local.length > 50 && local.includes("cli/manifests.ts"), `${local.length} modules`);
  const patterns = (await read(".dockerignore")).split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const lost = local.filter((p) => dockerIgnored(p, patterns));
  assert.deepEqual(lost, [], "modules the image build would not see");
  assert.ok(dockerIgnored("tests/packaging_files_test.ts", patterns));
  assert.ok(dockerIgnored("core/model_test.ts", patterns));
});
