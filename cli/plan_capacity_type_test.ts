/**
 * `proxscale plan` with host classes: a pool allowing reserved and preemptible hosts, priced
 * differently, gets its VMs on the cheaper class while it has room and on the other when it is
 * full; the node labels name the class.
 */
import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { planCommand } from "./plan.ts";

const CONFIG = `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006/
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts:
        - { name: pve-a, capacityType: reserved }
        - { name: pve-b, capacityType: reserved }
        - { name: pve-z, capacityType: preemptible }
        - { name: pve-s, capacityType: standard }
      capacityTypes:
        reserved: { perVcpuHour: 0.01, perGiBHour: 0.001 }
        preemptible: { perVcpuHour: 0.003, perGiBHour: 0.0003 }
        standard: { perVcpuHour: 0.001, perGiBHour: 0.0001 }
      vmidRange: { lower: 9000, upper: 9099 }
machineTemplates:
  - name: worker
    spec:
      provider: home
      source: { clone: { templateVmid: 8000 } }
      shapes:
        - { cpu: 4, memory: 8Gi }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
      requirements:
        - { key: proxscale.io/capacity-type, operator: In, values: [reserved, preemptible] }
`;

/** The preemptible host has room for `preemptibleVms` VMs of 4 vCPU. */
function snapshot(preemptibleVms: number, pods: number): string {
  return `hosts:
  - { name: pve-a, cpu: 64, memory: 256Gi }
  - { name: pve-b, cpu: 64, memory: 256Gi }
  - { name: pve-z, cpu: ${Math.max(1, preemptibleVms * 4)}, memory: 256Gi }
  - { name: pve-s, cpu: 64, memory: 256Gi }
pods:
  - name: web
    namespace: shop
    replicas: ${pods}
    requests: { cpu: "3", memory: 4Gi }
`;
}

async function plan(preemptibleVms: number, pods: number) {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-plan-classes-" });
  try {
    await Deno.writeTextFile(`${dir}/c.yaml`, CONFIG);
    await Deno.writeTextFile(`${dir}/s.yaml`, snapshot(preemptibleVms, pods));
    const io = captureIo();
    const code = await planCommand.run(
      [
        "--config",
        `${dir}/c.yaml`,
        "--snapshot",
        `${dir}/s.yaml`,
        "--now",
        "1700000000000",
        "--json",
      ],
      io,
    );
    assert.equal(code, 0, io.stderr.join("\n"));
    return JSON.parse(io.stdout.join("")) as {
      claims: { host: string; labels: Record<string, string> }[];
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("plan puts a pool's VMs on its cheapest allowed class with room, then falls back to the next", async () => {
  const p = await plan(2, 3);
  assert.equal(p.claims.length, 3);
  const hosts = p.claims.map((c) => c.host).sort();
  // Two fit on the preemptible host; the third goes to a reserved one, never to standard
  // (cheapest of all, but not allowed).
  assert.equal(hosts.filter((h) => h === "pve-z").length, 2, hosts.join(","));
  assert.equal(hosts.filter((h) => h === "pve-a" || h === "pve-b").length, 1, hosts.join(","));
  for (const c of p.claims) {
    assert.equal(
      c.labels["proxscale.io/capacity-type"],
      c.host === "pve-z" ? "preemptible" : "reserved",
    );
  }
});
