/**
 * The Redis outage of a chaos run: every connection of the run's daemons is killed on the
 * server (`CLIENT KILL ID`), which is what clients see when Redis restarts; the data stays, as
 * with a persistent Redis. Only this run's clients are touched, since the server may be shared:
 * BullMQ names some connections after the run's unique queue prefix, and the adapter names the
 * rest `proxscale-<role>`; of those, only connections opened since the run began (absent from
 * the baseline taken then) are killed.
 *
 * May import: adapters/.
 */
import { Redis } from "ioredis";

type Client = { id: string; name: string };

async function clients(url: string): Promise<Client[]> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    const list = String(await admin.call("CLIENT", "LIST"));
    return list.split("\n").flatMap((line) => {
      const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
      return id ? [{ id, name: /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "" }] : [];
    });
  } finally {
    admin.disconnect();
  }
}

/** The ids of the clients connected now (taken before the run opens its queues). */
export async function redisBaseline(url: string): Promise<Set<string>> {
  return new Set((await clients(url)).map((c) => c.id));
}

/** Kills this run's client connections; returns how many were killed. */
export async function killQueueClients(
  url: string,
  prefix: string,
  baseline: ReadonlySet<string>,
): Promise<number> {
  const ours = (await clients(url)).filter((c) =>
    c.name.includes(prefix) || (c.name.startsWith("proxscale-") && !baseline.has(c.id))
  );
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    let killed = 0;
    for (const c of ours) {
      try {
        killed += Number(await admin.call("CLIENT", "KILL", "ID", c.id));
      } catch {
        // Gone already.
      }
    }
    return killed;
  } finally {
    admin.disconnect();
  }
}
