import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { fakeClusterCommandWith } from "./fake_cluster.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { RedfishHostPower } from "../adapters/host_power/redfish_host_power.ts";

Deno.test({
  name: "fake-cluster --bmc-hosts gives hosts a fake BMC, --hosts-off starts them off, and the " +
    "written config names each host's BMC with host power on",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "proxscale-fc-bmc-" });
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const io = captureIo();
    const run = fakeClusterCommandWith(() => stopped).run([
      "--kubeconfig",
      `${dir}/kc`,
      "--hosts",
      "4",
      "--port",
      "0",
      "--pve-port",
      "0",
      "--bmc-hosts",
      "pve3,pve4",
      "--hosts-off",
      "pve4",
      "--write-config",
      `${dir}/proxscale.yaml`,
    ], io);
    try {
      const end = Date.now() + 60_000;
      while (!io.stdout.some((l) => l.includes("host bmc:"))) {
        if (Date.now() > end) throw new Error(io.stderr.join("\n"));
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(
        io.stdout.join("\n"),
        /host bmc: +https:\/\/\S+ \(Systems pve3, pve4; off: pve4;/,
      );
      const r = parseConfigText(await Deno.readTextFile(`${dir}/proxscale.yaml`), "fc.yaml");
      assert.ok(r.ok, r.ok ? "" : r.error.map((p) => p.message).join("\n"));
      const p = r.value.providers[0]!;
      assert.deepEqual(p.hostPower, { powerOffAfter: 300_000, minOnlineHosts: 2 });
      assert.deepEqual(p.hosts.map((h) => h.power?.bmc.systemId ?? "-"), [
        "-",
        "-",
        "pve3",
        "pve4",
      ]);
      // The BMC answers with the written credentials and pin: pve4 off, pve3 on.
      const port = new RedfishHostPower();
      try {
        const read = async (i: number) => {
          const x = await port.read(p.hosts[i]!.name, p.hosts[i]!.power!);
          assert.ok(x.ok, JSON.stringify(x));
          return x.value.power;
        };
        assert.equal(await read(2), "on");
        assert.equal(await read(3), "off");
      } finally {
        await port.close();
      }
    } finally {
      stop();
      assert.equal(await run, 0, io.stderr.join("\n"));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
