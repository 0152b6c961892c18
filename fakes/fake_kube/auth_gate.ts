/**
 * The fake API server's front door, in the apiserver's order: authenticate (authn.ts), apply
 * impersonation headers (impersonation.ts), authorize the request from the Roles, ClusterRoles
 * and bindings stored in the fake (rbac.ts, request_info.ts), then answer the review and token
 * endpoints (access_review.ts). RBAC is always on; the default ClusterRoles of a real cluster
 * (rbac_bootstrap.ts) are created when the gate is built. Every denial is recorded for tests
 * that want to name the calls a set of rules misses.
 *
 * May import: access_review.ts, authn.ts, impersonation.ts, rbac.ts, rbac_bootstrap.ts,
 * request_info.ts, routes.ts, ../result.ts.
 */
import type { Result } from "../result.ts";
import { serveReview } from "./access_review.ts";
import { Authenticator, type AuthnOptions, type IssuedServiceAccountToken } from "./authn.ts";
import { impersonate, wantsImpersonation } from "./impersonation.ts";
import type { KObj } from "./objects.ts";
import {
  type Attributes,
  authorize,
  type BindingObject,
  type Decision,
  type RbacObjects,
  type RoleObject,
  rulesFor,
  type UserInfo,
} from "./rbac.ts";
import { bootstrapRbacObjects } from "./rbac_bootstrap.ts";
import { forbiddenStatus, requestAttributes } from "./request_info.ts";
import { statusResponse } from "./routes.ts";
import type { Status } from "./status.ts";

/** One request the authorizer refused: who asked, and what. */
export type Denial = { user: string } & Attributes;

const G = "rbac.authorization.k8s.io";

/** The front door of one fake API server. */
export type AuthGate = {
  /** The user of a request's credentials, or undefined (401). */
  authenticate(req: Request): UserInfo | undefined;
  /**
   * Impersonation and authorization of one request: the user it acts as, or the 403/500
   * response that refuses it.
   */
  admit(req: Request, url: URL, user: UserInfo): UserInfo | Response;
  /** Answers review and TokenRequest endpoints; undefined for every other request. */
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

  return {
    authenticate: (req) => authn.authenticate(req),
    admit(req, url, user) {
      let acting = user;
      if (wantsImpersonation(req.headers)) {
        const r = impersonate(req.headers, user, decide);
        if (!r.ok) return statusResponse(r.status);
        acting = r.user;
      }
      const path = url.pathname.replace(/\/+$/, "") || "/";
      const a = requestAttributes(req.method, path, url.searchParams);
      const d = decide(acting, a);
      if (d.allowed) return acting;
      denials.push({ user: acting.username, ...a });
      if (denials.length > 1100) denials.splice(0, denials.length - 1000);
      return statusResponse(forbiddenStatus(a, acting.username, d.reason));
    },
    serve: (req, path, user) =>
      serveReview(
        { decide, rules: (u, ns) => rulesFor(snapshot(), u, ns), authn },
        req,
        path,
        user,
      ),
    decide,
    tokenFor: (namespace, name, secs) => authn.issue(namespace, name, secs),
    denials,
  };
}
