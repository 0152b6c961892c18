/**
 * The fake API server's front door, in the apiserver's order: authenticate (authn.ts), apply
 * impersonation headers (impersonation.ts), authorize the request from the Roles, ClusterRoles
 * and bindings stored in the fake (rbac.ts, request_info.ts), then answer the review and token
 * endpoints (access_review.ts). RBAC is always on; the default ClusterRoles of a real cluster
 * (rbac_bootstrap.ts) are created when the gate is built. Every denial is recorded for tests
 * that want to name the calls a set of rules misses. Writes of Roles, ClusterRoles and bindings
 * pass RBAC's escalation check (rbac_escalation.ts).
 *
 * May import: access_review.ts, authn.ts, impersonation.ts, patch_request.ts, rbac.ts,
 * rbac_bootstrap.ts, rbac_escalation.ts, request_info.ts, routes.ts, store.ts, ../result.ts.
 */
import { parse as parseYaml } from "yaml";
import type { Result } from "../result.ts";
import { serveReview } from "./access_review.ts";
import { Authenticator, type AuthnOptions, type IssuedServiceAccountToken } from "./authn.ts";
import { impersonate, wantsImpersonation } from "./impersonation.ts";
import type { KObj } from "./objects.ts";
import { PATCH_MEDIA_TYPES } from "./patch_request.ts";
import {
  type Attributes,
  authorize,
  type BindingObject,
  clusterRoleRules,
  type Decision,
  MASTERS,
  type PolicyRule,
  type RbacObjects,
  type RoleObject,
  rulesFor,
  type UserInfo,
} from "./rbac.ts";
import { bootstrapRbacObjects } from "./rbac_bootstrap.ts";
import { checkBindingWrite, checkRoleWrite, type EscalationContext } from "./rbac_escalation.ts";
import { forbiddenStatus, requestAttributes } from "./request_info.ts";
import { statusResponse } from "./routes.ts";
import type { Status } from "./status.ts";

/** One request the authorizer refused: who asked, and what. */
export type Denial = { user: string } & Attributes;

const G = "rbac.authorization.k8s.io";
const RBAC_WRITE =
  /^\/apis\/rbac\.authorization\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?(roles|clusterroles|rolebindings|clusterrolebindings)(?:\/([^/]+))?$/;

/** The front door of one fake API server. */
export type AuthGate = {
  /** The user of a request's credentials, or undefined (401). */
  authenticate(req: Request): UserInfo | undefined;
  /**
   * Impersonation and authorization of one request: the user it acts as, or the 403/500
   * response that refuses it.
   */
  admit(req: Request, url: URL, user: UserInfo): UserInfo | Response;
  /**
   * Answers review and TokenRequest endpoints, and refuses writes of Roles and bindings that
   * would grant more than the writer holds; undefined for every other request.
   */
  serve(req: Request, path: string, user: UserInfo): Promise<Response | undefined>;
  /** The authorizer's answer for a user and request (what an access review says). */
  decide(user: UserInfo, a: Attributes): Decision;
  /** A token for an existing ServiceAccount (404 Status when it does not exist). */
  tokenFor(
    namespace: string,
    name: string,
    expirationSeconds?: number,
  ): Result<IssuedServiceAccountToken, Status>;
  /** Requests refused by RBAC, oldest first (the last 1000). */
  denials: Denial[];
};

/** Builds the gate over `store` and creates the default RBAC objects in it. */
export function createAuthGate(o: AuthnOptions): AuthGate {
  const { store } = o;
  const boot = bootstrapRbacObjects();
  const seed = (ref: string, o: object) => {
    const r = store.create(`${ref}.${G}`, o as KObj);
    if (!r.ok) throw new Error(`Default RBAC object was refused: ${r.error.message}`);
  };
  for (const r of boot.clusterRoles) seed("clusterroles", r);
  for (const b of boot.clusterRoleBindings) seed("clusterrolebindings", b);
  const authn = new Authenticator(o);
  const denials: Denial[] = [];
  const record = (d: Denial) => {
    denials.push(d);
    if (denials.length > 1100) denials.splice(0, denials.length - 1000);
  };

  const objects = (ref: string, namespace?: string): KObj[] => {
    const r = store.listEntries(`${ref}.${G}`, namespace !== undefined ? { namespace } : {});
    return r.ok ? r.value.entries.map((e) => e.obj) : [];
  };
  let cache: { rv: string; objs: RbacObjects } | undefined;
  const snapshot = (): RbacObjects => {
    const rv = store.resourceVersion();
    if (cache?.rv === rv) return cache.objs;
    const roles = new Map<string, RoleObject[]>();
    const bindings = new Map<string, BindingObject[]>();
    const objs: RbacObjects = {
      clusterRoles: objects("clusterroles") as unknown as RoleObject[],
      clusterRoleBindings: objects("clusterrolebindings") as unknown as BindingObject[],
      roles(ns) {
        let r = roles.get(ns);
        if (!r) roles.set(ns, r = objects("roles", ns) as unknown as RoleObject[]);
        return r;
      },
      roleBindings(ns) {
        let b = bindings.get(ns);
        if (!b) bindings.set(ns, b = objects("rolebindings", ns) as unknown as BindingObject[]);
        return b;
      },
    };
    cache = { rv, objs };
    return objs;
  };
  const decide = (u: UserInfo, a: Attributes) => authorize(snapshot(), u, a);
  const escalation: EscalationContext = { decide, rules: (u, ns) => rulesFor(snapshot(), u, ns) };

  /** The object a write would store: the body of POST/PUT, a dry run of PATCH. */
  async function written(req: Request, url: URL, ref: string, ns?: string, name?: string) {
    const text = await req.clone().text();
    const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    let body: unknown;
    try {
      body = type.endsWith("yaml") ? parseYaml(text) : JSON.parse(text);
    } catch {
      return undefined; // the resource handler reports the bad body
    }
    if (req.method !== "PATCH") return body as Record<string, unknown>;
    const patchType = PATCH_MEDIA_TYPES[type];
    if (!patchType || !name) return undefined;
    const r = store.patch(`${ref}.${G}`, ns, name, patchType, body as never, {
      dryRun: true,
      fieldManager: url.searchParams.get("fieldManager") || "escalation-check",
      ...(url.searchParams.get("force") === "true" ? { force: true } : {}),
    });
    return r.ok ? (r.value.object as unknown as Record<string, unknown>) : undefined;
  }

  /** RBAC's escalation check for a Role or binding write by a non-admin; undefined = allowed. */
  async function guardRbacWrite(req: Request, url: URL, path: string, user: UserInfo) {
    if (user.groups.includes(MASTERS)) return undefined;
    if (req.method !== "POST" && req.method !== "PUT" && req.method !== "PATCH") return undefined;
    const m = path.match(RBAC_WRITE);
    if (!m) return undefined;
    const ns = m[1] ? decodeURIComponent(m[1]) : undefined;
    const ref = m[2]!;
    const name = m[3] ? decodeURIComponent(m[3]) : undefined;
    if ((req.method === "POST") !== (name === undefined)) return undefined;
    const obj = await written(req, url, ref, ns, name);
    if (!obj || typeof obj !== "object") return undefined;
    if (ref === "roles" || ref === "clusterroles") {
      const s = checkRoleWrite(escalation, user, ref, ns, obj as never);
      return s ? statusResponse(s) : undefined;
    }
    const roleRef = (obj.roleRef ?? {}) as { kind?: string; name?: string };
    const objs = snapshot();
    let rules: PolicyRule[] | undefined;
    if (roleRef.kind === "Role") {
      const role = objs.roles(ns ?? "").find((r) => r.metadata.name === roleRef.name);
      rules = role ? role.rules ?? [] : undefined;
    } else {
      const role = objs.clusterRoles.find((r) => r.metadata.name === roleRef.name);
      rules = role ? clusterRoleRules(role, objs.clusterRoles) : undefined;
    }
    const binding = ref as "rolebindings" | "clusterrolebindings";
    const s = checkBindingWrite(escalation, user, binding, ns, obj as never, rules);
    return s ? statusResponse(s) : undefined;
  }

  return {
    authenticate: (req) => authn.authenticate(req),
    admit(req, url, user) {
      let acting = user;
      if (wantsImpersonation(req.headers)) {
        const r = impersonate(req.headers, user, decide);
        if (!r.ok) {
          if (r.denied) record({ user: user.username, ...r.denied });
          return statusResponse(r.status);
        }
        acting = r.user;
      }
      const path = url.pathname.replace(/\/+$/, "") || "/";
      const a = requestAttributes(req.method, path, url.searchParams);
      const d = decide(acting, a);
      if (d.allowed) return acting;
      record({ user: acting.username, ...a });
      return statusResponse(forbiddenStatus(a, acting.username, d.reason));
    },
    async serve(req, path, user) {
      const review = await serveReview(
        { decide, rules: (u, ns) => rulesFor(snapshot(), u, ns), authn },
        req,
        path,
        user,
      );
      return review ?? await guardRbacWrite(req, new URL(req.url), path, user);
    },
    decide,
    tokenFor: (namespace, name, secs) => authn.issue(namespace, name, secs),
    denials,
  };
}
