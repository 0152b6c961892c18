/**
 * The Redis outage of a chaos run: every connection of one run's queue is killed on the server
 * (`CLIENT KILL ID`), which is what clients see when Redis restarts. Only this run's clients
 * are touched (BullMQ names its connections after the queue prefix; the adapter names the rest
 * `proxscale-*` and they are matched by the run's prefix too), so a shared server stays usable
 * for everyone else. The data stays, as with a persistent Redis.
 *
 * May import: adapters/.
 */
import { Redis } from "ioredis";

/** Kills this run's client connections; returns how many were killed. */
export async function killQueueClients(url: string, prefix: string): Promise<number> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    const list = String(await admin.call("CLIENT", "LIST"));
    const ours = list.split("\n").map((line) => ({
      id: /(?:^| )id=(\d+)/.exec(line)?.[1],
      name: /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "",
    })).filter((c) => c.id !== undefined && c.name.includes(prefix));
    let killed = 0;
    for (const c of ours) {
      const n = await admin.call("CLIENT", "KILL", "ID", c.id!);
      killed += Number(n);
    }
    return killed;
  } finally {
    admin.disconnect();
  }
}
