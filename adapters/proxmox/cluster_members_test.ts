import assert from "node:assert/strict";
import { startFakePve } from "../../fakes/fake_pve/server.ts";
import { PveClient } from "./client.ts";
import { readClusterMembers } from "./cluster_members.ts";

Deno.test("cluster members carry online, quorum votes, HA resources and guests of any owner, templates aside", async () => {
  const fake = await startFakePve({ hosts: 3, seed: 4 });
  const client = new PveClient({
    endpoint: fake.url,
    tokenId: fake.tokenId,
    tokenSecret: fake.tokenSecret,
    tls: { fingerprint: fake.fingerprint },
    timeoutMs: 5000,
    retry: { attempts: 2, baseMs: 5, maxMs: 20 },
  });
  try {
    fake.model.addVm({ vmid: 300, node: "pve1", name: "db", running: true });
    fake.model.addVm({ vmid: 301, node: "pve1", name: "old", running: false });
    fake.model.setHaResource(300, true);
    fake.model.setHostVotes("pve2", 2);
    fake.model.setHostPower("pve3", false);
    const r = await readClusterMembers(client);
    assert.ok(r.ok, JSON.stringify(r));
    const [pve1, pve2, pve3] = r.value.sort((a, b) => (a.name < b.name ? -1 : 1));
    assert.deepEqual(pve1, { name: "pve1", online: true, votes: 1, haResources: 1, guests: 2 });
    assert.deepEqual(pve2, { name: "pve2", online: true, votes: 2, haResources: 0, guests: 0 });
    // An offline node's guests show without their template flag: they count (never emptier).
    assert.deepEqual([pve3!.online, pve3!.votes], [false, 1]);
  } finally {
    client.close();
    await fake.close();
  }
});
