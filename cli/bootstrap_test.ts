import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { type BootstrapDeps, makeBootstrapCommand, userDataPosition } from "./bootstrap.ts";
import {
  formatBootstrapToken,
  generateBootstrapToken,
  type RandomBytes,
} from "../core/bootstrap_token.ts";
import { readIso } from "../adapters/bootstrap/iso9660_reader.ts";

const EXAMPLE = new URL("../config.example.yaml", import.meta.url).pathname;
const NOW = Date.UTC(2026, 10, 26, 6, 0, 0);

/** A counter-based byte source: the token it yields is known to the test, never random. */
function fixedRandom(): RandomBytes {
  let i = 0;
  return (n) => Uint8Array.from({ length: n }, () => (i++ * 37 + 11) % 251);
}
const deps = (): BootstrapDeps => ({ random: fixedRandom(), now: () => NOW });
const KNOWN = generateBootstrapToken(fixedRandom());
const KNOWN_TEXT = formatBootstrapToken(KNOWN);

async function preview(args: string[]) {
  const io = captureIo();
  const code = await makeBootstrapCommand(deps()).run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

async function withTempDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-bootstrap-" });
  try {
    return await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The example config with its bootstrap block edited. */
async function exampleWith(dir: string, from: string, to: string): Promise<string> {
  const text = await Deno.readTextFile(EXAMPLE);
  assert.ok(text.includes(from), `example config no longer contains ${JSON.stringify(from)}`);
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(path, text.replace(from, to));
  return path;
}

Deno.test("the example config's default pool previews cleanly, with the token redacted", async () => {
  await withTempDir(async (dir) => {
    const iso = `${dir}/seed.iso`;
    const r = await preview(["preview", "--config", EXAMPLE, "--iso", iso]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
    assert.match(r.out, /^# NodePool general, MachineTemplate worker, bootstrap mode nocloudIso/);
    for (const section of ["user-data", "meta-data", "network-config"]) {
      assert.match(r.out, new RegExp(`^--- ${section} \\(\\d+ bytes\\)$`, "m"));
    }
    assert.match(r.out, /token: "<redacted:join-token>"/);
    assert.match(r.out, /value: "proxmox:\/\/homelab\/9000"/);
    assert.match(r.out, /local-hostname: general-preview/);
    assert.match(r.out, /macaddress: "02:00:00:23:28:00"/);
    assert.match(r.out, /local:iso\/proxscale-cidata-general-preview\.iso/);
    // The token Secret is shown with its credential redacted but its public id and expiry.
    assert.match(r.out, new RegExp(`name: bootstrap-token-${KNOWN.id}`));
    assert.match(r.out, /token-secret: <redacted:join-token-secret>/);
    assert.match(r.out, /expiration: 2026-11-26T06:30:00Z/);
    assert.match(r.out, /auth-extra-groups: system:bootstrappers:kubeadm:default-node-token/);
    // Secret hygiene: neither the token nor its secret half appears anywhere in the output.
    assert.ok(!r.out.includes(KNOWN_TEXT) && !r.err.includes(KNOWN_TEXT));
    assert.ok(!r.out.includes(KNOWN.secret) && !r.err.includes(KNOWN.secret));
    // The ISO carries the real token (it is the node's credential), under label cidata.
    const read = readIso(await Deno.readFile(iso));
    assert.ok(read.ok);
    assert.equal(read.value.volumeId, "cidata");
    const files = new Map(
      read.value.rockRidge.map((f) => [f.name, new TextDecoder().decode(f.data)]),
    );
    assert.deepEqual([...files.keys()].sort(), ["meta-data", "network-config", "user-data"]);
    assert.ok(files.get("user-data")!.includes(`token: "${KNOWN_TEXT}"`));
    // What was shown is exactly the ISO's content with the token replaced.
    const shownUserData = r.out.split(/^--- user-data \(\d+ bytes\)\n/m)[1]!.split(/\n--- /)[0]!;
    assert.equal(
      shownUserData,
      files.get("user-data")!.replaceAll(KNOWN_TEXT, "<redacted:join-token>"),
    );
  });
});

Deno.test("--pool picks another pool and its taints reach the registration taints", async () => {
  const r = await preview(["preview", "--config", EXAMPLE, "--pool", "batch"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /# NodePool batch/);
  assert.match(
    r.out,
    /taints: \[ \{ key: proxscale\.io\/unregistered, effect: NoExecute \}, \{ key: workload, value: batch, effect: NoSchedule \} \]/,
  );
});

Deno.test("an unknown pool exits 2 naming the known pools", async () => {
  const r = await preview(["preview", "--config", EXAMPLE, "--pool", "gpu"]);
  assert.equal(r.code, 2);
  assert.equal(r.out, "");
  assert.match(r.err, /unknown NodePool "gpu" \(known: general, batch\)/);
});

Deno.test("an unknown variable in an inline template exits 2 at its file:line:col", async () => {
  await withTempDir(async (dir) => {
    const config = await exampleWith(
      dir,
      "        template: kubeadm\n",
      "        userData: |\n          #cloud-config\n          hostname: {{ node.nmae }}\n",
    );
    const r = await preview(["preview", "--config", config]);
    assert.equal(r.code, 2);
    const lines = (await Deno.readTextFile(config)).split("\n");
    const line = lines.findIndex((l) => l.includes("{{ node.nmae }}")) + 1;
    const col = lines[line - 1]!.indexOf("node.nmae") + 1;
    assert.equal(
      r.err,
      `${config}:${line}:${col}: machineTemplates[0].spec.bootstrap.userData: unknown variable "node.nmae", did you mean node.name?`,
    );
    assert.ok(!r.err.includes(KNOWN.secret));
  });
});

Deno.test("a cluster CA file pins the kubeadm join to its SPKI hash", async () => {
  await withTempDir(async (dir) => {
    const gen = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=kubernetes",
        "-keyout",
        `${dir}/ca.key`,
        "-out",
        `${dir}/ca.pem`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(gen.code, 0);
    const r = await preview(["preview", "--config", EXAMPLE, "--ca", `${dir}/ca.pem`]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /- "sha256:[0-9a-f]{64}"/);
    assert.ok(!r.out.includes("no cluster CA given"));
    const bad = await preview(["preview", "--config", EXAMPLE, "--ca", `${dir}/ca.key`]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /no CERTIFICATE block/);
  });
});

Deno.test("mode none shows identity only and refuses --iso", async () => {
  await withTempDir(async (dir) => {
    const config = await exampleWith(dir, "        mode: nocloudIso\n", "        mode: none\n");
    const r = await preview(["preview", "--config", config]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /mode none: proxscale delivers no bootstrap data/);
    const iso = await preview(["preview", "--config", config, "--iso", `${dir}/x.iso`]);
    assert.equal(iso.code, 2);
    assert.match(iso.err, /--iso applies to nocloudIso only/);
  });
});

Deno.test("usage errors exit 2 and --help exits 0", async () => {
  assert.equal((await preview([])).code, 2);
  assert.equal((await preview(["preview"])).code, 2);
  assert.equal((await preview(["show", "--config", EXAMPLE])).code, 2);
  assert.equal((await preview(["preview", "--config", EXAMPLE, "--bogus"])).code, 2);
  const help = await preview(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /bootstrap preview --config FILE/);
  const missing = await preview(["preview", "--config", "/nonexistent/config.yaml"]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /file not found/);
});

Deno.test("template positions inside plain and quoted scalars map to the config file", () => {
  const text = [
    "machineTemplates:",
    "  - name: w",
    "    spec:",
    "      bootstrap:",
    '        userData: "x {{ a }}"',
  ].join("\n");
  assert.deepEqual(userDataPosition(text, 0, { line: 1, col: 3 }), { line: 5, col: 22 });
  const plain = text.replace('"x {{ a }}"', "x {{ a }}");
  assert.deepEqual(userDataPosition(plain, 0, { line: 1, col: 3 }), { line: 5, col: 21 });
  assert.equal(userDataPosition(text, 1, { line: 1, col: 1 }), undefined);
});
