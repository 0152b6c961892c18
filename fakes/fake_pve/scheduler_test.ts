import assert from "node:assert/strict";
import { lock, Scheduler, sleep, TaskFailure, unlock, type Worker } from "./scheduler.ts";

function clock() {
  let t = 0;
  const s = new Scheduler(() => t);
  return { s, set: (v: number) => ((t = v), s.advance()) };
}

Deno.test("workers finish when the clock passes their sleep, in time order", () => {
  const { s, set } = clock();
  const order: string[] = [];
  const w = (name: string, ms: number): Worker =>
    (function* () {
      yield sleep(ms);
      order.push(name);
    })();
  s.spawn(w("slow", 300), (e) => order.push(`slow:${e}`));
  s.spawn(w("fast", 100), (e) => order.push(`fast:${e}`));
  assert.equal(s.nextEventAt(), 100);
  set(1000);
  assert.deepEqual(order, ["fast", "fast:OK", "slow", "slow:OK"]);
});

Deno.test("an exclusive lock queues the next worker, which times out with its message", () => {
  const { s, set } = clock();
  const exits: string[] = [];
  s.spawn(
    (function* () {
      yield lock("vm:1", "exclusive", 1000, "unused");
      yield sleep(5000);
    })(),
    (e) => exits.push(`a:${e}`),
  );
  s.spawn(
    (function* () {
      yield lock("vm:1", "exclusive", 1000, "got timeout");
    })(),
    (e) => exits.push(`b:${e}`),
  );
  assert.equal(s.isFree("vm:1", "exclusive"), false);
  assert.equal(s.freeAt("vm:1"), 5000);
  set(1001);
  assert.deepEqual(exits, ["b:got timeout"]);
  set(5000);
  assert.deepEqual(exits, ["b:got timeout", "a:OK"]);
  assert.equal(s.isFree("vm:1", "exclusive"), true);
});

Deno.test("shared locks coexist; a waiter gets the lock when the holder unlocks early", () => {
  const { s, set } = clock();
  const got: string[] = [];
  for (const n of ["x", "y"]) {
    s.spawn(
      (function* () {
        yield lock("tmpl", "shared", 100, "t");
        got.push(n);
        yield sleep(50);
      })(),
      () => {},
    );
  }
  assert.deepEqual(got, ["x", "y"]);
  s.spawn(
    (function* () {
      yield lock("st", "exclusive", 100, "t");
      yield sleep(10);
      yield unlock("st");
      yield sleep(1000);
    })(),
    () => {},
  );
  s.spawn(
    (function* () {
      yield lock("st", "exclusive", 100, "t");
      got.push("second");
    })(),
    () => {},
  );
  set(10);
  assert.deepEqual(got, ["x", "y", "second"]);
});

Deno.test("interrupting a worker runs its rollback and ends with the failure text", () => {
  const { s } = clock();
  let rolledBack = false;
  let exit = "";
  const id = s.spawn(
    (function* () {
      try {
        yield sleep(1000);
      } catch (e) {
        rolledBack = true;
        throw e;
      }
    })(),
    (e) => (exit = e),
  );
  s.interrupt(id, new TaskFailure("received interrupt"));
  assert.equal(rolledBack, true);
  assert.equal(exit, "received interrupt");
  assert.equal(s.isRunning(id), false);
});
