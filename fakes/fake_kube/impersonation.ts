/**
 * Impersonation headers (`Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid`,
 * `Impersonate-Extra-<key>`), what `kubectl --as`/`--as-group` send. Each thing asked for is
 * authorized as the verb `impersonate` on its own resource: `users` (or `serviceaccounts` in
 * the account's namespace for a `system:serviceaccount:<ns>:<name>` user), `groups`, and in
 * the `authentication.k8s.io` group `uids` and `userextras/<key>`. The first one refused is a
 * 403 in the apiserver's words; groups, uid or extras without a user is a 500 as there.
 *
 * The impersonated user gets exactly the groups asked for, or for a ServiceAccount without
 * groups its fixed ServiceAccount groups, plus `system:authenticated` (unless one of
 * `system:authenticated`/`system:unauthenticated` is asked for; `system:anonymous` gets
 * `system:unauthenticated` instead).
 *
 * May import: rbac.ts, request_info.ts, status.ts.
 */
import {
  type Attributes,
  type Decision,
  serviceAccountGroups,
  splitServiceAccount,
  type UserInfo,
} from "./rbac.ts";
import { forbiddenStatus } from "./request_info.ts";
import { internalError, type Status } from "./status.ts";

const EXTRA_PREFIX = "impersonate-extra-";

/** Does the request carry any impersonation header? */
export function wantsImpersonation(h: Headers): boolean {
  for (const [k] of h) {
    const l = k.toLowerCase();
    if (
      l === "impersonate-user" || l === "impersonate-group" || l === "impersonate-uid" ||
      l.startsWith(EXTRA_PREFIX)
    ) return true;
  }
  return false;
}

function unescapeKey(k: string): string {
  try {
    return decodeURIComponent(k);
  } catch {
    return k;
  }
}

/**
 * The user a request acts as after its impersonation headers, or the Status that refuses it.
 * `decide` is the authorizer, asked once per impersonated attribute as the requesting user.
 */
export function impersonate(
  headers: Headers,
  requester: UserInfo,
  decide: (u: UserInfo, a: Attributes) => Decision,
): { ok: true; user: UserInfo } | { ok: false; status: Status; denied?: Attributes } {
  const asUser = headers.get("impersonate-user") ?? "";
  // Fetch joins repeated headers with ", "; group names cannot contain ", " in practice.
  const groupHeader = headers.get("impersonate-group");
  const asGroups = groupHeader === null ? [] : groupHeader.split(/,\s*/).filter((g) => g);
  const asUid = headers.get("impersonate-uid") ?? "";
  const extras: [string, string][] = [];
  for (const [k, v] of headers) {
    if (!k.toLowerCase().startsWith(EXTRA_PREFIX)) continue;
    const key = unescapeKey(k.toLowerCase().slice(EXTRA_PREFIX.length));
    for (const value of v.split(/,\s*/)) extras.push([key, value]);
  }
  if (!asUser) {
    const asked = [
      ...asGroups.map((g) => `Group "${g}"`),
      ...extras.map(([k, v]) => `UserExtra ${k}="${v}"`),
      ...(asUid ? [`UID "${asUid}"`] : []),
    ];
    return {
      ok: false,
      status: internalError(`requested [${asked.join(" ")}] without impersonating a user`),
    };
  }
  const checks: Attributes[] = [];
  const sa = splitServiceAccount(asUser);
  if (sa) {
    checks.push({
      resourceRequest: true,
      verb: "impersonate",
      group: "",
      resource: "serviceaccounts",
      namespace: sa[0],
      name: sa[1],
    });
  } else {
    checks.push({
      resourceRequest: true,
      verb: "impersonate",
      group: "",
      resource: "users",
      name: asUser,
    });
  }
  for (const g of asGroups) {
    checks.push({
      resourceRequest: true,
      verb: "impersonate",
      group: "",
      resource: "groups",
      name: g,
    });
  }
  for (const [key, value] of extras) {
    checks.push({
      resourceRequest: true,
      verb: "impersonate",
      group: "authentication.k8s.io",
      resource: "userextras",
      subresource: key,
      name: value,
    });
  }
  if (asUid) {
    checks.push({
      resourceRequest: true,
      verb: "impersonate",
      group: "authentication.k8s.io",
      resource: "uids",
      name: asUid,
    });
  }
  for (const a of checks) {
    const d = decide(requester, a);
    if (!d.allowed) {
      return { ok: false, status: forbiddenStatus(a, requester.username, d.reason), denied: a };
    }
  }
  let groups = asGroups.length > 0 ? [...asGroups] : sa ? serviceAccountGroups(sa[0]) : [];
  if (asUser === "system:anonymous") {
    if (!groups.includes("system:unauthenticated")) groups = [...groups, "system:unauthenticated"];
  } else if (
    !groups.includes("system:authenticated") && !groups.includes("system:unauthenticated")
  ) groups = [...groups, "system:authenticated"];
  const user: UserInfo = { username: asUser, groups };
  if (asUid) user.uid = asUid;
  if (extras.length > 0) {
    const extra: Record<string, string[]> = {};
    for (const [k, v] of extras) (extra[k] ??= []).push(v);
    user.extra = extra;
  }
  return { ok: true, user };
}
