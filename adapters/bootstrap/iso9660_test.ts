import assert from "node:assert/strict";
import { buildNoCloudIso, type IsoFile, SECTOR } from "./iso9660.ts";
import { readIso } from "./iso9660_reader.ts";

const enc = new TextEncoder();

/** The three NoCloud files with awkward content: UTF-8, a multi-sector file, no trailing newline. */
function seedFiles(): IsoFile[] {
  return [
    { name: "user-data", data: enc.encode("#cloud-config\nhostname: général-1\nruncmd: [true]") },
    { name: "meta-data", data: enc.encode("instance-id: 9000\nlocal-hostname: general-1\n") },
    {
      name: "network-config",
      data: enc.encode("version: 2\n" + "# padding line to cross sectors\n".repeat(200)),
    },
  ];
}

async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

async function hasTool(name: string): Promise<boolean> {
  try {
    await new Deno.Command(name, { args: ["-version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

async function extractWithXorriso(iso: string, dir: string, readFs: string) {
  const r = await run("xorriso", [
    "-read_fs",
    readFs,
    "-osirrox",
    "on",
    "-indev",
    iso,
    "-extract",
    "/",
    dir,
  ]);
  assert.equal(r.code, 0, r.out);
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) out.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  return out;
}

Deno.test("xorriso reads label cidata and the three files with exactly the written bytes", async () => {
  const files = seedFiles();
  const dir = await Deno.makeTempDir({ prefix: "proxscale-iso-" });
  try {
    const iso = `${dir}/seed.iso`;
    await Deno.writeFile(iso, buildNoCloudIso(files));
    const info = await run("xorriso", ["-indev", iso, "-pvd_info"]);
    assert.equal(info.code, 0, info.out);
    assert.match(info.out, /^Volume Id\s*:\s*cidata$/m);
    const listing = await run("xorriso", ["-indev", iso, "-ls", "/"]);
    assert.deepEqual(
      [...listing.out.matchAll(/^'([^']+)'$/gm)].map((m) => m[1]).filter((n) => n !== "/"),
      ["meta-data", "network-config", "user-data"],
    );
    // Rock Ridge tree alone, then Joliet tree alone: both must name and carry the files.
    for (const readFs of ["nojoliet", "norock"]) {
      const got = await extractWithXorriso(iso, `${dir}/${readFs}`, readFs);
      assert.deepEqual([...got.keys()].sort(), ["meta-data", "network-config", "user-data"]);
      for (const f of files) assert.deepEqual(got.get(f.name), f.data, `${readFs}: ${f.name}`);
    }
    // cloud-init finds the NoCloud volume through blkid's LABEL (Joliet's label when present).
    const blkid = await run("blkid", ["-p", "-o", "export", iso]);
    assert.match(blkid.out, /^TYPE=iso9660$/m);
    assert.match(blkid.out, /^LABEL=cidata$/m);
    if (await hasTool("isoinfo")) {
      const d = await run("isoinfo", ["-d", "-i", iso]);
      assert.match(d.out, /^Volume id: cidata$/m);
      assert.match(d.out, /Rock Ridge signatures version 1 found/);
      assert.match(d.out, /Joliet with UCS level 3 found/);
      for (const f of files) {
        const x = await new Deno.Command("isoinfo", {
          args: ["-R", "-i", iso, "-x", `/${f.name}`],
          stdout: "piped",
        }).output();
        assert.deepEqual(x.stdout, f.data, `isoinfo: ${f.name}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the reader finds the same names and bytes in the Rock Ridge and Joliet trees", () => {
  const files = seedFiles();
  const r = readIso(buildNoCloudIso(files));
  assert.ok(r.ok);
  assert.equal(r.value.volumeId, "cidata");
  assert.equal(r.value.jolietVolumeId, "cidata");
  const byName = (list: IsoFile[]) => new Map(list.map((f) => [f.name, f.data]));
  for (const tree of [r.value.rockRidge, r.value.joliet]) {
    const m = byName(tree);
    assert.equal(m.size, 3);
    for (const f of files) assert.deepEqual(m.get(f.name), f.data);
  }
  assert.deepEqual(r.value.isoNames, ["META_DAT.;1", "NETWORK_.;1", "USER_DAT.;1"]);
});

Deno.test("a directory bigger than one sector is split between records, not across them", async () => {
  const files: IsoFile[] = Array.from({ length: 60 }, (_, i) => ({
    name: `file-${String(i).padStart(2, "0")}-${"x".repeat(50)}`,
    data: enc.encode(`content ${i}\n`),
  }));
  const image = buildNoCloudIso(files);
  const r = readIso(image);
  assert.ok(r.ok);
  assert.equal(r.value.rockRidge.length, 60);
  assert.equal(r.value.joliet.length, 60);
  assert.equal(new Set(r.value.isoNames).size, 60, "ISO 9660 identifiers stay unique");
  const dir = await Deno.makeTempDir({ prefix: "proxscale-iso-" });
  try {
    await Deno.writeFile(`${dir}/big.iso`, image);
    const got = await extractWithXorriso(`${dir}/big.iso`, `${dir}/x`, "nojoliet");
    assert.equal(got.size, 60);
    for (const f of files) assert.deepEqual(got.get(f.name), f.data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the same files give the same image, and sizes are whole sectors", () => {
  const a = buildNoCloudIso(seedFiles(), "cidata", { mtimeMs: 1_760_000_000_000 });
  const b = buildNoCloudIso(seedFiles(), "cidata", { mtimeMs: 1_760_000_000_000 });
  assert.deepEqual(a, b);
  assert.equal(a.length % SECTOR, 0);
  const empty = readIso(buildNoCloudIso([{ name: "meta-data", data: new Uint8Array() }]));
  assert.ok(empty.ok);
  assert.equal(empty.value.rockRidge[0]?.data.length, 0);
});

Deno.test("names that cannot be stored are refused", () => {
  const data = new Uint8Array(1);
  assert.throws(() => buildNoCloudIso([{ name: "a/b", data }]), /cannot be stored/);
  assert.throws(() => buildNoCloudIso([{ name: "", data }]), /cannot be stored/);
  assert.throws(() => buildNoCloudIso([{ name: "x".repeat(65), data }]), /cannot be stored/);
  assert.throws(
    () => buildNoCloudIso([{ name: "user-data", data }, { name: "user-data", data }]),
    /twice/,
  );
  assert.throws(() => buildNoCloudIso([], "a-label-longer-than-16"), /Volume id/);
});
