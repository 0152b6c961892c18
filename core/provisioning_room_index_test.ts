import { equal } from "node:assert/strict";
import fc from "fast-check";
import { RoomIndex } from "./provisioning_room_index.ts";

Deno.test("the room index finds the same first candidate as a scan in order, through drops and shrinks", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("push" as const), cpu: fc.nat(20), mem: fc.nat(20) }),
    fc.record({ kind: fc.constant("drop" as const), at: fc.nat(60) }),
    fc.record({ kind: fc.constant("shrink" as const), at: fc.nat(60), by: fc.nat(5) }),
    fc.record({
      kind: fc.constant("first" as const),
      from: fc.nat(60),
      cpu: fc.nat(20),
      mem: fc.nat(20),
    }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const ix = new RoomIndex();
      const rooms: { cpu: number; mem: number; live: boolean }[] = [];
      for (const o of ops) {
        if (o.kind === "push") {
          ix.push(rooms.length, o.cpu, o.mem);
          rooms.push({ cpu: o.cpu, mem: o.mem, live: true });
        } else if (o.kind === "drop") {
          if (o.at >= rooms.length) continue;
          ix.drop(o.at);
          rooms[o.at]!.live = false;
        } else if (o.kind === "shrink") {
          const r = rooms[o.at];
          if (!r || !r.live) continue;
          r.cpu -= o.by;
          r.mem -= o.by;
          ix.shrink(o.at, r.cpu, r.mem);
        } else {
          let want = -1;
          for (let i = o.from; i < rooms.length; i++) {
            const r = rooms[i]!;
            if (r.live && r.cpu >= o.cpu && r.mem >= o.mem) {
              want = i;
              break;
            }
          }
          equal(ix.first(o.from, o.cpu, o.mem), want);
        }
      }
    }),
    { numRuns: 300 },
  );
});
