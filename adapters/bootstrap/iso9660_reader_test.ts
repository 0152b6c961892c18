/**
 * Tests of iso9660_reader.ts on its own: what it reports for images it cannot read (no volume
 * descriptor, no primary descriptor, a root directory past the end), an image without a Joliet
 * tree, and the fallback to the plain ISO identifier when a record carries no Rock Ridge name.
 * The round trip with the writer and xorriso lives in iso9660_test.ts.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { buildNoCloudIso, SECTOR } from "./iso9660.ts";
import { readIso } from "./iso9660_reader.ts";

const enc = new TextEncoder();
const image = () =>
  buildNoCloudIso([
    { name: "user-data", data: enc.encode("#cloud-config\n") },
    { name: "meta-data", data: enc.encode("instance-id: 1\n") },
  ]);
const ascii = (b: Uint8Array, at: number, len: number) =>
  String.fromCharCode(...b.subarray(at, at + len));

/** The offset of each volume descriptor of `type` (1 primary, 2 supplementary). */
function descriptors(img: Uint8Array, type: number): number[] {
  const out: number[] = [];
  for (let at = 16 * SECTOR; at + SECTOR <= img.length && img[at] !== 255; at += SECTOR) {
    if (img[at] === type) out.push(at);
  }
  return out;
}

const unreadable = (img: Uint8Array) => {
  const r = readIso(img);
  assert.equal(r.ok, false, "the image must be refused");
  return !r.ok ? r.error : undefined;
};

Deno.test("bytes that hold no volume descriptor at sector 16 are refused with that reason", () => {
  const img = image();
  img.set(enc.encode("XXXXX"), 16 * SECTOR + 1);
  assert.deepEqual(unreadable(img), {
    kind: "IsoUnreadable",
    message: "sector 16 is not a volume descriptor",
  });
  assert.deepEqual(unreadable(new Uint8Array(17 * SECTOR)), {
    kind: "IsoUnreadable",
    message: "sector 16 is not a volume descriptor",
  });
});

Deno.test("an image too short for any descriptor, or with no primary one, is refused", () => {
  assert.deepEqual(unreadable(new Uint8Array(10 * SECTOR)), {
    kind: "IsoUnreadable",
    message: "no primary volume descriptor",
  });
  const img = image();
  const [primary] = descriptors(img, 1);
  img[primary!] = 3; // a type the reader does not use
  assert.equal(unreadable(img)?.message, "no primary volume descriptor");
});

Deno.test("a root directory extent running past the end of the image is refused", () => {
  const img = image();
  const [primary] = descriptors(img, 1);
  const view = new DataView(img.buffer);
  view.setUint32(primary! + 156 + 10, img.length, true); // root size: the whole image
  assert.match(unreadable(img)?.message ?? "", /^directory at sector \d+ runs past the end$/);
});

Deno.test("without a Joliet escape sequence the Joliet tree is empty and has no volume name", () => {
  const img = image();
  const sup = descriptors(img, 2);
  assert.equal(sup.length, 1, "the writer adds one supplementary descriptor");
  assert.equal(ascii(img, sup[0]! + 88, 3), "%/E");
  img.set(enc.encode("   "), sup[0]! + 88);
  const r = readIso(img);
  assert.ok(r.ok);
  assert.deepEqual(r.value.joliet, []);
  assert.equal(r.value.jolietVolumeId, undefined);
  assert.deepEqual(r.value.rockRidge.map((f) => f.name).sort(), ["meta-data", "user-data"]);
});

Deno.test("a record without a Rock Ridge NM entry is named by its ISO identifier, version dropped", () => {
  const img = image();
  let hits = 0;
  for (let i = 0; i + 14 <= img.length; i++) {
    if (ascii(img, i, 2) === "NM" && ascii(img, i + 5, img[i + 2]! - 5) === "user-data") {
      img.set(enc.encode("ZZ"), i); // an unknown System Use entry instead of NM
      hits++;
    }
  }
  assert.equal(hits, 1);
  const r = readIso(img);
  assert.ok(r.ok);
  const names = r.value.rockRidge.map((f) => f.name).sort();
  assert.deepEqual(names, ["USER_DAT", "meta-data"]);
  const data = r.value.rockRidge.find((f) => f.name === "USER_DAT")!.data;
  assert.equal(new TextDecoder().decode(data), "#cloud-config\n");
  assert.deepEqual(r.value.isoNames, ["META_DAT.;1", "USER_DAT.;1"]);
});
