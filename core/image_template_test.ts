import assert from "node:assert/strict";
import type { MachineTemplate } from "./model.ts";
import {
  type BuiltTemplate,
  imageBuildHosts,
  imageFileName,
  type ImageSource,
  imageTemplateDigest,
  imageTemplateName,
  staleTemplates,
  templateFor,
} from "./image_template.ts";

const SOURCE: ImageSource = {
  kind: "image",
  url: "https://cloud-images.example/noble/noble-server-cloudimg-amd64.img",
  checksum: { algorithm: "sha256", value: "c".repeat(64) },
  storage: "local-lvm",
  importStorage: "local",
  full: true,
};
const tmpl = (over: Partial<ImageSource> = {}, vm?: MachineTemplate["vm"]) =>
  ({ name: "noble", source: { ...SOURCE, ...over }, ...(vm ? { vm } : {}) }) as MachineTemplate;

Deno.test("the template digest changes with the image, its checksum, storages and VM options only", () => {
  const base = imageTemplateDigest(tmpl());
  assert.match(base, /^[0-9a-f]{16}$/);
  assert.equal(imageTemplateDigest(tmpl()), base, "stable");
  assert.notEqual(imageTemplateDigest(tmpl({ url: SOURCE.url + "?v=2" })), base);
  assert.notEqual(
    imageTemplateDigest(tmpl({ checksum: { algorithm: "sha256", value: "d".repeat(64) } })),
    base,
  );
  assert.notEqual(imageTemplateDigest(tmpl({ storage: "ceph" })), base);
  assert.notEqual(imageTemplateDigest(tmpl({}, { numa: true })), base);
  assert.equal(imageTemplateDigest(tmpl({ perHost: ["pve1"] })), base, "placement is not identity");
  assert.equal(imageTemplateName(tmpl()), `pxs-tpl-noble-${base}`);
});

Deno.test("the image file is named by its checksum with an importable extension", () => {
  assert.equal(imageFileName(SOURCE), `proxscale-${"c".repeat(24)}.qcow2`);
  assert.equal(
    imageFileName({ ...SOURCE, url: "http://h/disk.RAW" }),
    `proxscale-${"c".repeat(24)}.raw`,
  );
});

Deno.test("templates are built on the listed hosts, or once on shared storage", () => {
  const hosts = ["pve1", "pve2", "pve3"];
  assert.deepEqual(imageBuildHosts(SOURCE, hosts, false), hosts);
  assert.deepEqual(imageBuildHosts({ ...SOURCE, perHost: ["pve3", "pve2"] }, hosts, false), [
    "pve2",
    "pve3",
  ]);
  assert.deepEqual(imageBuildHosts(SOURCE, hosts, true), ["pve1"]);
});

Deno.test("old templates of the MachineTemplate go only when no claim still uses them", () => {
  const t = tmpl();
  const now = imageTemplateName(t);
  const old = `pxs-tpl-noble-${"0".repeat(16)}`;
  const built: BuiltTemplate[] = [
    { vmid: 8000, host: "pve1", name: old, template: true },
    { vmid: 8001, host: "pve1", name: now, template: true },
    { vmid: 8002, host: "pve1", name: `pxs-tpl-noble-gpu-${"1".repeat(16)}`, template: true },
  ];
  assert.deepEqual(staleTemplates(t, built, true), []);
  assert.deepEqual(staleTemplates(t, built, false).map((b) => b.vmid), [8000]);
  assert.equal(templateFor(t, "pve1", built, false)?.vmid, 8001);
  assert.equal(templateFor(t, "pve2", built, false), undefined);
  assert.equal(templateFor(t, "pve2", built, true)?.vmid, 8001, "shared storage serves all");
});
