/**
 * Resource pools: a VM belongs to at most one pool; create and clone
 * add to a pool, destroy removes from it; updates are wrapped in `update pools failed: …`.
 */
import type { ModelState, Outcome, VmState } from "./state.ts";
import type { Params } from "./vm_config.ts";
import { quorumError } from "./vm_create.ts";

const POOL_RE = /^[A-Za-z0-9.\-_]+(?:\/[A-Za-z0-9.\-_]+){0,2}$/;

/** `GET /pools[?poolid=&type=]`; with `poolid` the entry carries `members`. */
export function listPools(
  st: ModelState,
  poolid: string | undefined,
  type: string | undefined,
  member: (vm: VmState) => Record<string, unknown>,
): Outcome<Record<string, unknown>[]> {
  if (poolid === undefined) {
    return {
      ok: true,
      value: [...st.pools.values()].sort((a, b) => a.poolid.localeCompare(b.poolid)).map((p) =>
        p.comment !== undefined ? { poolid: p.poolid, comment: p.comment } : { poolid: p.poolid }
      ),
    };
  }
  const p = st.pools.get(poolid);
  if (!p) return { ok: false, error: st.fail(500, `pool '${poolid}' does not exist`) };
  const members: Record<string, unknown>[] = [];
  if (!type || type === "qemu") {
    for (const id of [...p.vms].sort((a, b) => a - b)) {
      const vm = st.vms.get(id);
      if (vm) members.push(member(vm));
    }
  }
  const e: Record<string, unknown> = { poolid: p.poolid, members };
  if (p.comment !== undefined) e.comment = p.comment;
  return { ok: true, value: [e] };
}

/** `POST /pools` */
export function createPool(st: ModelState, poolid: string, comment?: string): Outcome<null> {
  if (!POOL_RE.test(poolid)) {
    return {
      ok: false,
      error: st.fail(400, "Parameter verification failed.", {
        poolid: "invalid format - value does not look like a valid pool identifier\n",
      }),
    };
  }
  const q = quorumError(st);
  if (q) return { ok: false, error: q };
  if (st.pools.has(poolid)) {
    return { ok: false, error: st.fail(500, `pool '${poolid}' already exists`) };
  }
  const parent = poolid.includes("/") ? poolid.slice(0, poolid.lastIndexOf("/")) : undefined;
  if (parent && !st.pools.has(parent)) {
    return {
      ok: false,
      error: st.fail(500, `parent '${parent}' of pool '${poolid}' does not exist`),
    };
  }
  st.pools.set(poolid, {
    poolid,
    ...(comment !== undefined ? { comment } : {}),
    vms: new Set(),
    storage: new Set(),
  });
  return { ok: true, value: null };
}

/** `PUT /pools` with `vms`, `storage`, `comment`, `delete`, `allow-move`. */
export function updatePool(st: ModelState, params: Params): Outcome<null> {
  const poolid = params.poolid;
  if (!poolid) {
    return {
      ok: false,
      error: st.fail(400, "Parameter verification failed.", {
        poolid: "property is missing and it is not optional",
      }),
    };
  }
  const q = quorumError(st);
  if (q) return { ok: false, error: q };
  const p = st.pools.get(poolid);
  if (!p) return { ok: false, error: st.fail(500, `pool '${poolid}' does not exist`) };
  const fail = (m: string) => ({
    ok: false as const,
    error: st.fail(500, `update pools failed: ${m}`),
  });
  const vms = (params.vms ?? "").split(/[,;\s]+/).filter((x) => x).map(Number);
  const remove = params.delete === "1";
  for (const id of vms) {
    const vm = st.vms.get(id);
    if (!vm) return fail(`VM ${id} does not exist`);
    if (remove) {
      if (!p.vms.has(id)) return fail(`VM ${id} is not a pool member`);
    } else if (p.vms.has(id)) return fail(`VM ${id} is already a pool member`);
    else if (vm.pool && vm.pool !== poolid && params["allow-move"] !== "1") {
      return fail(`VM ${id} belongs already to pool '${vm.pool}' and 'allow-move' is not set`);
    }
  }
  for (const id of vms) {
    const vm = st.vms.get(id)!;
    if (remove) {
      p.vms.delete(id);
      delete vm.pool;
    } else {
      if (vm.pool) st.pools.get(vm.pool)?.vms.delete(id);
      p.vms.add(id);
      vm.pool = poolid;
    }
  }
  if (params.comment !== undefined) p.comment = params.comment;
  for (const s of (params.storage ?? "").split(/[,;\s]+/).filter((x) => x)) {
    if (remove) p.storage.delete(s);
    else p.storage.add(s);
  }
  return { ok: true, value: null };
}

/** `DELETE /pools?poolid=`: refused while members remain. */
export function deletePool(st: ModelState, poolid: string): Outcome<null> {
  const q = quorumError(st);
  if (q) return { ok: false, error: q };
  const p = st.pools.get(poolid);
  if (!p) return { ok: false, error: st.fail(500, `pool '${poolid}' does not exist`) };
  const first = [...p.vms].sort((a, b) => a - b)[0];
  if (first !== undefined) {
    return {
      ok: false,
      error: st.fail(500, `pool '${poolid}' is not empty (contains VM ${first})`),
    };
  }
  st.pools.delete(poolid);
  return { ok: true, value: null };
}
