import assert from "node:assert/strict";
import { streamListItems } from "./list_stream.ts";

function streamOf(text: string, cuts: number[]): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const bounds = [
    0,
    ...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b),
    bytes.length,
  ];
  const parts = bounds.slice(1).map((end, i) => bytes.slice(bounds[i], end));
  return new ReadableStream({
    pull(c) {
      const p = parts.shift();
      if (p) c.enqueue(p);
      else c.close();
    },
  });
}

async function read(text: string, cuts: number[] = []) {
  const items: unknown[] = [];
  const r = await streamListItems(streamOf(text, cuts), (i) => items.push(i));
  return { r, items };
}

const tricky = {
  kind: "PodList",
  apiVersion: "v1",
  metadata: { resourceVersion: "42", continue: "tok]en,{" },
  items: [
    { metadata: { name: 'a "quoted" ]}, name', namespace: "ns" }, spec: { items: [1, [2]] } },
    null,
    7,
    [1, { x: "]" }],
    { metadata: { name: "ünïcødé ✓" }, data: { items: "x\\" } },
  ],
};

Deno.test("every item and the list metadata come out as JSON.parse would give them, wherever the chunks are cut", async () => {
  const text = JSON.stringify(tricky, null, 1);
  const len = new TextEncoder().encode(text).length;
  for (let cut = 0; cut <= len; cut++) {
    const { r, items } = await read(text, [cut, cut + 3]);
    assert.ok(r.ok, `cut ${cut}: ${!r.ok && r.error}`);
    assert.deepEqual(items, tricky.items, `cut ${cut}`);
    assert.deepEqual(r.value, { ...tricky, items: [] }, `cut ${cut}`);
  }
});

Deno.test("items before or after the metadata, empty or missing lists", async () => {
  const after = await read('{"items":[{"a":1}],"metadata":{"resourceVersion":"9"}}');
  assert.deepEqual(after.items, [{ a: 1 }]);
  assert.ok(
    after.r.ok && (after.r.value.metadata as { resourceVersion: string }).resourceVersion === "9",
  );
  const empty = await read('{"items":[],"metadata":{}}');
  assert.deepEqual(empty.items, []);
  assert.ok(empty.r.ok);
  const nul = await read('{"items":null,"metadata":{}}');
  assert.deepEqual(nul.items, []);
  assert.ok(nul.r.ok && nul.r.value.items === null);
});

Deno.test("a truncated or broken answer is an error, never a partial success", async () => {
  for (const bad of ['{"items":[{"a":1},', '{"items":[{"a":}]}', "not json", "[1,2]"]) {
    const { r } = await read(bad);
    assert.equal(r.ok, false, bad);
  }
});
