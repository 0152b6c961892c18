/**
 * UPIDs: PVE's task identifiers. The client polls a task by UPID on the node the UPID names,
 * so the fake must produce and parse exactly PVE's format.
 */

/** The decoded fields of a UPID. */
export type Upid = {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
};

const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, "0");
}

/** Encodes as `UPID:node:PID:PSTART:STARTTIME:type:id:user:` (upper-case hex, trailing colon). */
export function encodeUpid(u: Upid): string {
  return `UPID:${u.node}:${hex(u.pid, 8)}:${hex(u.pstart, 8)}:${
    hex(u.starttime, 8)
  }:${u.type}:${u.id}:${u.user}:`;
}

/** Parses a UPID, or returns undefined when it does not match PVE's pattern. */
export function parseUpid(text: string): Upid | undefined {
  const m = UPID_RE.exec(text);
  if (!m) return undefined;
  return {
    node: m[1]!,
    pid: parseInt(m[3]!, 16),
    pstart: parseInt(m[4]!, 16),
    starttime: parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
}
