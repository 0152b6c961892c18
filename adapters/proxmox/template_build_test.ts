import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { MachineTemplate } from "../../core/model.ts";
import { GiB } from "../../core/quantity.ts";
import { imageFileName, type ImageSource, imageTemplateName } from "../../core/image_template.ts";
import { upid } from "./schemas.ts";
import { defaultStorages } from "../../fakes/fake_pve/model.ts";
import { type FakePve, startFakePve } from "../../fakes/fake_pve/server.ts";
import { PveClient } from "./client.ts";
import { buildImageTemplate, builtTemplates, imageTemplateVm } from "./template_build.ts";
import { template as baseTemplate } from "./testing/fixtures.ts";

const IMAGE = new TextEncoder().encode(
  "a small qcow2 cloud image for template builds\n".repeat(200),
);
const SHA256 = createHash("sha256").update(IMAGE).digest("hex");
const RANGE = { lower: 8000, upper: 8099 };

type Env = { fake: FakePve; client: PveClient; url: string; hits: () => number };

async function withImage(body: (env: Env) => Promise<void>): Promise<void> {
  let hits = 0;
  const ac = new AbortController();
  const served = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    () => {
      hits++;
      return new Response(IMAGE);
    },
  );
  const storages = defaultStorages().map((s) =>
    s.id === "local" ? { ...s, content: [...s.content, "import"] } : s
  );
  const fake = await startFakePve({
    hosts: 3,
    seed: 8,
    model: {
      storages,
      templates: false,
      timing: {
        durations: { qmcreate: 10, qmtemplate: 10, qmdestroy: 10 },
        cloneBytesPerSecond: 1024 * GiB,
      },
    },
  });
  const client = new PveClient({
    endpoint: fake.url,
    tokenId: fake.tokenId,
    tokenSecret: fake.tokenSecret,
    tls: { fingerprint: fake.fingerprint },
    timeoutMs: 5000,
    retry: { attempts: 3, baseMs: 5, maxMs: 20 },
    task: { pollMinMs: 5, pollMaxMs: 20, deadlineMs: 10_000 },
  });
  try {
    await body({
      fake,
      client,
      url: `http://127.0.0.1:${served.addr.port}/noble.img`,
      hits: () => hits,
    });
  } finally {
    client.close();
    ac.abort();
    await served.finished;
    await fake.close();
  }
}

function imageTemplate(url: string, value = SHA256): MachineTemplate {
  return {
    ...baseTemplate,
    name: "noble",
    source: {
      kind: "image",
      url,
      checksum: { algorithm: "sha256", value },
      storage: "local-lvm",
      importStorage: "local",
      full: true,
    },
  };
}

Deno.test("a template VM is built from the image on each of three hosts, once each", async () => {
  await withImage(async ({ client, url, hits }) => {
    const t = imageTemplate(url);
    for (const host of ["pve1", "pve2", "pve3"]) {
      const r = await buildImageTemplate({ client, template: t, host, range: RANGE, tag: "k8s" });
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.value.steps, ["download", "create", "template"]);
    }
    assert.equal(hits(), 3, "each host downloads the image into its own local storage");
    const again = await buildImageTemplate({
      client,
      template: t,
      host: "pve2",
      range: RANGE,
      tag: "k8s",
    });
    assert.ok(again.ok);
    assert.deepEqual(again.value.steps, [], "a finished template is left alone");
    const vms = await client.resourcesVm();
    assert.ok(vms.ok);
    const built = builtTemplates(vms.value, RANGE);
    assert.deepEqual(built.map((b) => [b.host, b.vmid, b.template]), [
      ["pve1", 8000, true],
      ["pve2", 8001, true],
      ["pve3", 8002, true],
    ]);
    assert.equal(imageTemplateVm(t, "pve3", vms.value)?.vmid, 8002);
    const conf = await client.vmConfig("pve1", 8000);
    assert.ok(conf.ok);
    assert.match(String(conf.value.scsi0), /^local-lvm:base-8000-disk-0/);
    assert.match(String(conf.value.description), new RegExp(`sha256: ${SHA256}`));
    assert.equal(conf.value.name, imageTemplateName(t));
  });
});

Deno.test("a checksum mismatch is refused with PVE's message and is not retried", async () => {
  await withImage(async ({ client, url, fake }) => {
    const wrong = "ab".repeat(32);
    const r = await buildImageTemplate({
      client,
      template: imageTemplate(url, wrong),
      host: "pve1",
      range: RANGE,
      tag: "k8s",
    });
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "ChecksumMismatch");
    assert.equal(r.error.retry, false);
    assert.match(
      r.error.message,
      new RegExp(`checksum mismatch: got '${SHA256}' != expect '${wrong}'`),
    );
    assert.equal(fake.model.st.vms.size, 0, "no template VM is made from a refused image");
  });
});

Deno.test("a build interrupted after the download resumes without downloading again", async () => {
  await withImage(async ({ client, url, hits, fake }) => {
    const t = imageTemplate(url);
    // The crash: the download task finished, the builder died before creating the VM.
    const file = await client.call(
      upid,
      "POST",
      "/nodes/pve1/storage/local/download-url",
      {
        url,
        content: "import",
        filename: imageFileName(
          t.source as ImageSource,
        ),
        checksum: SHA256,
        "checksum-algorithm": "sha256",
      },
      { idempotent: false },
    );
    assert.ok(file.ok);
    assert.ok((await client.waitTask(file.value)).ok);
    assert.equal(hits(), 1);
    const r = await buildImageTemplate({
      client,
      template: t,
      host: "pve1",
      range: RANGE,
      tag: "k8s",
    });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.value.steps, ["create", "template"]);
    assert.equal(hits(), 1, "the image was not fetched a second time");
    assert.equal(fake.model.st.downloads.get(url), 1);
    // Interrupted after the create: the half-built VM is converted, not made again.
    const t2 = { ...t, vm: { numa: true } } as MachineTemplate;
    const c = await client.runTask(
      client.createVm("pve1", {
        vmid: 8050,
        name: imageTemplateName(t2),
        scsi0: `local-lvm:0,import-from=local:import/${
          imageFileName(
            t2.source as ImageSource,
          )
        }`,
      }),
      "create",
    );
    assert.ok(c.ok);
    const r2 = await buildImageTemplate({
      client,
      template: t2,
      host: "pve1",
      range: RANGE,
      tag: "k8s",
    });
    assert.ok(r2.ok, JSON.stringify(r2));
    assert.deepEqual(r2.value.steps, ["template"]);
    assert.equal(r2.value.vmid, 8050);
    assert.equal(hits(), 1);
  });
});
