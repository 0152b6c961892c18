/**
 * The static-address protocol under concurrent launches, crashes and deletes: a model API server
 * (NodeClaims with their recorded addresses), the VMs launches make, foreign VMs that come and
 * go, and launches whose reads and writes fast-check's scheduler interleaves. A crash ends the
 * process: its launches never write again and a new allocator takes over.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ClaimAddress } from "../core/model.ts";
import { type AddressHolder, poolUsage } from "../core/ipam.ts";
import { assignable, checkIpPool, formatIpv4, type IpPool, parseIpv4 } from "../core/ipam_pool.ts";
import { err, ok } from "../core/result.ts";
import { reason } from "../core/reason.ts";
import { AddressAllocator, type AddressPorts } from "./claim_addresses.ts";

type Command =
  | { kind: "create" }
  | { kind: "launch"; i: number }
  | { kind: "delete"; i: number }
  | { kind: "destroyVm"; i: number }
  | { kind: "removeClaim"; i: number }
  | { kind: "crash" }
  | { kind: "foreignUp"; offset: number }
  | { kind: "foreignDown"; i: number }
  | { kind: "step"; n: number };

const command: fc.Arbitrary<Command> = fc.oneof<fc.MaybeWeightedArbitrary<Command>[]>(
  { arbitrary: fc.constant({ kind: "create" as const }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("launch" as const), i: fc.nat(20) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("delete" as const), i: fc.nat(20) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("destroyVm" as const), i: fc.nat(20) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("removeClaim" as const), i: fc.nat(20) }), weight: 2 },
  { arbitrary: fc.constant({ kind: "crash" as const }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("foreignUp" as const), offset: fc.nat(12) }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("foreignDown" as const), i: fc.nat(5) }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("step" as const), n: fc.integer({ min: 1, max: 4 }) }),
    weight: 4,
  },
);

/** A small pool (so it runs out), with a reserved address and a gateway inside its range. */
const poolArb: fc.Arbitrary<IpPool> = fc.record({
  last: fc.integer({ min: 3, max: 12 }),
  reserved: fc.option(fc.integer({ min: 2, max: 12 }), { nil: undefined }),
  gateway: fc.boolean(),
}).map(({ last, reserved, gateway }) => {
  const p = checkIpPool({
    name: "nodes",
    cidr: "10.0.0.0/28",
    ranges: [`10.0.0.1-10.0.0.${last}`],
    ...(reserved !== undefined && reserved <= last ? { reserved: [`10.0.0.${reserved}`] } : {}),
    ...(gateway ? { gateway: "10.0.0.1" } : {}),
  });
  if (!p.ok) throw new Error(JSON.stringify(p.error));
  return p.value;
});

type ClaimState = { addresses: ClaimAddress[]; deleting: boolean };

Deno.test(
  "static addresses: never two live NodeClaims with one address, none foreign or reserved when chosen, none leaked once every claim ended",
  async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        poolArb,
        fc.array(command, { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 1, max: 2 }),
        async (s, pool, commands, nicCount) => {
          const nics = Array.from({ length: nicCount }, (_, k) => ({ slot: `net${k}`, pool }));
          const claims = new Map<string, ClaimState>();
          const vms = new Map<string, ClaimAddress[]>();
          const foreign: string[] = [];
          let epoch = 0;
          let allocator = new AddressAllocator();
          const inFlight = new Map<string, number>(); // claim -> epoch of its launch
          let created = 0;
          const never = new Promise<never>(() => {});
          const failures: unknown[] = [];

          const holders = (): AddressHolder[] =>
            [...claims].map(([claim, c]) => ({ claim, addresses: c.addresses }));
          const check = () => {
            const seen = new Map<string, string>();
            for (const [name, c] of claims) {
              for (const a of c.addresses) {
                const other = seen.get(a.address);
                assert.equal(other, undefined, `${a.address} held by ${other} and ${name}`);
                seen.set(a.address, name);
                assert.ok(assignable(pool, parseIpv4(a.address)!), `${a.address} not assignable`);
              }
            }
            for (const [name, addrs] of vms) {
              const c = claims.get(name);
              assert.ok(c, `VM of ${name} lives on without its claim`);
              for (const a of addrs) {
                assert.ok(
                  c.addresses.some((x) => x.address === a.address),
                  `VM of ${name} uses ${a.address}, which its claim does not hold`,
                );
              }
            }
          };

          const portsFor = (e: number, claim: string): AddressPorts => {
            let foreignSeen: string[] = [];
            const gate = async <T>(label: string, f: () => T): Promise<T> => {
              await s.schedule(Promise.resolve(label));
              if (e !== epoch) return await never; // the process crashed: it writes nothing
              return f();
            };
            return {
              liveClaims: () => gate(`list ${claim}`, () => ok(holders())),
              foreignAddresses: () =>
                gate(`foreign ${claim}`, () => {
                  foreignSeen = [...foreign];
                  return ok(foreignSeen);
                }),
              record: (name, addresses) =>
                gate(`record ${claim}`, () => {
                  const c = claims.get(name);
                  if (!c) return err(reason("KubernetesError", `${name} not found`));
                  for (const a of addresses) {
                    assert.ok(!foreignSeen.includes(a.address), `${a.address} is a foreign VM's`);
                  }
                  c.addresses = addresses;
                  check();
                  return ok(undefined);
                }),
            };
          };

          const launch = async (name: string, e: number) => {
            const r = await allocator.ensure({ name, provider: "pve" }, nics, portsFor(e, name));
            if (r.ok) {
              await s.schedule(Promise.resolve(`create VM ${name}`));
              if (e === epoch && claims.has(name)) vms.set(name, r.value);
            } else if (r.error.kind === "Exhausted") {
              assert.match(r.error.reason.message, /no free address/);
            }
            if (e === epoch && inFlight.get(name) === e) inFlight.delete(name);
            check();
          };

          const pick = (i: number) => {
            const names = [...claims.keys()];
            return names.length === 0 ? undefined : names[i % names.length];
          };
          for (const c of commands) {
            switch (c.kind) {
              case "create":
                claims.set(`claim-${created++}`, { addresses: [], deleting: false });
                break;
              case "launch": {
                const name = pick(c.i);
                if (!name || claims.get(name)!.deleting || inFlight.has(name)) break;
                inFlight.set(name, epoch);
                launch(name, epoch).catch((e) => failures.push(e));
                break;
              }
              case "delete": {
                const name = pick(c.i);
                if (name) claims.get(name)!.deleting = true;
                break;
              }
              case "destroyVm": {
                // finalize: waits for a launch still running, then destroys the VM.
                const name = pick(c.i);
                if (name && claims.get(name)!.deleting && !inFlight.has(name)) vms.delete(name);
                break;
              }
              case "removeClaim": {
                // The finalizer is released only once the VM is gone.
                const name = pick(c.i);
                if (name && claims.get(name)!.deleting && !inFlight.has(name) && !vms.has(name)) {
                  claims.delete(name);
                }
                break;
              }
              case "crash":
                epoch++;
                allocator = new AddressAllocator();
                inFlight.clear();
                break;
              case "foreignUp": {
                // Someone starts a VM outside proxscale on an address no claim holds.
                const a = formatIpv4(pool.network + 1 + c.offset);
                if (!holders().some((h) => h.addresses.some((x) => x.address === a))) {
                  foreign.push(a);
                }
                break;
              }
              case "foreignDown":
                if (foreign.length > 0) foreign.splice(c.i % foreign.length, 1);
                break;
              case "step":
                if (s.count() > 0) await s.waitNext(Math.min(c.n, s.count()));
                break;
            }
            if (failures.length > 0) throw failures[0];
            check();
          }
          await s.waitIdle();
          if (failures.length > 0) throw failures[0];
          check();
          // Every claim ends: crash (in-flight launches stop), delete, destroy VMs, release.
          epoch++;
          inFlight.clear();
          for (const c of claims.values()) c.deleting = true;
          vms.clear();
          claims.clear();
          const usage = poolUsage(pool, holders(), foreign);
          assert.equal(usage.held, 0);
          assert.equal(
            usage.free,
            usage.size - usage.foreign,
            "every address not used by a foreign VM is free again",
          );
          // ...and a new process hands every one of them out again, then reports exhaustion.
          allocator = new AddressAllocator();
          const fits = Math.floor(usage.free / nicCount);
          for (let k = 0; k <= fits; k++) {
            const name = `after-${k}`;
            claims.set(name, { addresses: [], deleting: false });
            const done = allocator.ensure({ name, provider: "pve" }, nics, portsFor(epoch, name));
            const r = await s.waitFor(done);
            if (k < fits) assert.ok(r.ok, `claim ${k} of ${fits} got no address`);
            else assert.equal(r.ok ? "ok" : r.error.kind, "Exhausted");
          }
          check();
        },
      ),
      { numRuns: 1000 },
    );
  },
);
