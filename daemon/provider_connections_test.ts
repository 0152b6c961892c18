/** ProviderConnections: which reloads reconnect, and what happens to the old clients. */
import assert from "node:assert/strict";
import type { Provider } from "../core/model.ts";
import { err, ok } from "../core/result.ts";
import type { MachineProvider } from "./ports/provider.ts";
import { ProviderConnections } from "./provider_connections.ts";

const base = {
  name: "lab",
  endpoint: "https://pve.example:8006",
  tokenId: "a@pve!x",
  tokenSecret: { env: "T1" },
  tls: { insecureSkipVerify: false },
} as unknown as Provider;

function fixture(failFor?: string) {
  const closed: string[] = [];
  let made = 0;
  const conns = new ProviderConnections((p) => {
    if (p.tokenId === failFor) return Promise.resolve(err("secret unreadable"));
    const id = `${p.name}#${++made}`;
    return Promise.resolve(ok({
      provider: { id } as unknown as MachineProvider,
      close: () => closed.push(id),
    }));
  });
  return { conns, closed, made: () => made };
}

const idOf = (m: MachineProvider | undefined) => (m as unknown as { id: string } | undefined)?.id;

Deno.test("unchanged connection fields keep the client; a new token or Provider connects anew", async () => {
  const f = fixture();
  assert.ok((await f.conns.start([base])).ok);
  assert.equal(idOf(f.conns.providers.get("lab")), "lab#1");
  const same = await f.conns.update([{ ...base, hosts: [] } as Provider]);
  assert.deepEqual(same.reconnected, []);
  const r = await f.conns.update([
    { ...base, tokenId: "a@pve!y" },
    { ...base, name: "edge" },
  ]);
  assert.deepEqual(r.reconnected, ["lab", "edge"]);
  assert.equal(idOf(f.conns.providers.get("lab")), "lab#2");
  assert.equal(idOf(f.conns.providers.get("edge")), "edge#3");
  assert.deepEqual(f.closed, [], "the old client is retired, not closed under running jobs");
  await f.conns.close();
  assert.deepEqual(f.closed.sort(), ["edge#3", "lab#1", "lab#2"]);
});

Deno.test("a connection that cannot be made keeps the previous one and is reported", async () => {
  const f = fixture("a@pve!bad");
  assert.ok((await f.conns.start([base])).ok);
  const r = await f.conns.update([{ ...base, tokenId: "a@pve!bad" }]);
  assert.deepEqual(r.failed, [{ provider: "lab", message: "secret unreadable" }]);
  assert.equal(idOf(f.conns.providers.get("lab")), "lab#1");
  const start = await fixture("a@pve!x").conns.start([base]);
  assert.deepEqual(start, { ok: false, error: "provider lab: secret unreadable" });
  await f.conns.close();
});
