/** `proxscale status` as text: the IP pool usage lines. */
import assert from "node:assert/strict";
import { formatStatus } from "./status.ts";
import type { StatusReport } from "../daemon/status_report.ts";
import { emptyCounts } from "../daemon/ports/queue.ts";

const base: StatusReport = {
  time: 0,
  leader: true,
  maintenance: { paused: false, local: false },
  pools: [],
  claims: [],
  jobs: {
    counts: emptyCounts(),
    list: [],
  },
  decisions: [],
};

Deno.test("status shows each IP pool's size, held, foreign and free addresses", () => {
  const text = formatStatus({
    ...base,
    ipPools: [{ provider: "pve", pool: "nodes", size: 10, held: 3, foreign: 2, free: 5 }],
  });
  assert.match(text, /ip pools/);
  assert.match(text, /PROVIDER\s+POOL\s+SIZE\s+HELD\s+FOREIGN\s+FREE/);
  assert.match(text, /pve\s+nodes\s+10\s+3\s+2\s+5/);
  assert.doesNotMatch(formatStatus(base), /ip pools/, "no pools, no section");
});
