/** The demand history: bucket peaks, gaps, the four-week bound and the compact encoding. */
import assert from "node:assert/strict";
import {
  BUCKET_MS,
  decodeHistory,
  emptyHistory,
  ENCODED_BYTES_PER_POOL,
  encodeHistory,
  HISTORY_BUCKETS,
  mergeHistory,
  recordDemand,
} from "./forecast_history.ts";
import { GiB } from "./quantity.ts";

const d = (cpu: number, memory = cpu * 2 ** 20, gpus = 0) => ({ cpu, memory, gpus });

Deno.test("a bucket keeps the peak of what was recorded in it and closes when the next begins", () => {
  let h = emptyHistory();
  h = recordDemand(h, 0, d(100));
  h = recordDemand(h, 60_000, d(300));
  h = recordDemand(h, 120_000, d(200));
  assert.deepEqual(h.cpu, [], "the open bucket is not a completed one");
  h = recordDemand(h, BUCKET_MS, d(50));
  assert.deepEqual(h.cpu, [300]);
  assert.equal(h.first, 0);
  assert.equal(h.open?.cpu, 50);
});

Deno.test("buckets with no record repeat the last value", () => {
  let h = recordDemand(emptyHistory(), 0, d(100));
  h = recordDemand(h, 4 * BUCKET_MS, d(400));
  h = recordDemand(h, 5 * BUCKET_MS, d(1));
  assert.deepEqual(h.cpu, [100, 100, 100, 100, 400]);
});

Deno.test("the history keeps at most four weeks of buckets, dropping the oldest", () => {
  let h = emptyHistory();
  for (let b = 0; b < HISTORY_BUCKETS + 10; b++) h = recordDemand(h, b * BUCKET_MS, d(b));
  assert.equal(h.cpu.length, HISTORY_BUCKETS);
  assert.equal(h.first, 9);
  assert.equal(h.cpu[0], 9);
});

Deno.test("a record inside the open bucket below its peak returns the history itself", () => {
  const h = recordDemand(emptyHistory(), 0, d(100));
  assert.equal(recordDemand(h, 1000, d(50)), h);
});

Deno.test("the encoding round-trips (memory in MiB) and a full history fits the stated bytes", () => {
  let h = emptyHistory();
  for (let b = 0; b < HISTORY_BUCKETS + 1; b++) {
    h = recordDemand(h, b * BUCKET_MS, {
      cpu: 1000 + b,
      memory: 3 * GiB + b * 2 ** 20,
      gpus: b % 3,
    });
  }
  const text = encodeHistory(h);
  assert.ok(text.length <= ENCODED_BYTES_PER_POOL, `${text.length} > ${ENCODED_BYTES_PER_POOL}`);
  const back = decodeHistory(text)!;
  assert.equal(back.cpu.length, HISTORY_BUCKETS);
  assert.equal(back.first, h.first + 1, "the open bucket was folded in, the oldest dropped");
  assert.equal(back.cpu.at(-1), 1000 + HISTORY_BUCKETS);
  assert.equal(back.memory.at(-1), 3 * GiB + HISTORY_BUCKETS * 2 ** 20);
  assert.equal(back.gpus.at(-1), HISTORY_BUCKETS % 3);
  assert.equal(decodeHistory("v2:1:AAAA"), undefined);
  assert.equal(decodeHistory("v1:1:AAA"), undefined);
});

Deno.test("merging two histories keeps each bucket's higher peak and every bucket either has", () => {
  let a = emptyHistory();
  let b = emptyHistory();
  for (let i = 0; i < 4; i++) a = recordDemand(a, i * BUCKET_MS, d(10 * i));
  for (let i = 2; i < 6; i++) b = recordDemand(b, i * BUCKET_MS, d(i === 2 ? 100 : 1));
  const m = mergeHistory(a, b);
  assert.equal(m.first, 0);
  assert.deepEqual(m.cpu, [0, 10, 100, 30, 1, 1]);
  assert.deepEqual(mergeHistory(emptyHistory(), b).cpu.length, 4);
});
