/**
 * The create-only review endpoints of the fake API server, answered from the same RBAC
 * authorizer that guards every request: SubjectAccessReview, LocalSubjectAccessReview,
 * SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview (`kubectl auth can-i
 * --list`) in authorization.k8s.io/v1; SelfSubjectReview (`kubectl auth whoami`) and
 * TokenReview in authentication.k8s.io/v1; and TokenRequest (`POST
 * serviceaccounts/<name>/token`, `kubectl create token`). Who may call each is decided before
 * (system:basic-user grants the self reviews to everyone authenticated).
 *
 * May import: authn.ts, rbac.ts, review_protobuf.ts, routes.ts (responses), status.ts.
 */
import type { Authenticator } from "./authn.ts";
import type { Attributes, Decision, RulesReview, UserInfo } from "./rbac.ts";
import { jsonResponse, statusResponse } from "./routes.ts";
import { isKubeProtobuf, reviewFromProtobuf } from "./review_protobuf.ts";
import { badRequest, invalid, type StatusCause, unsupportedMediaType } from "./status.ts";

/** What the review endpoints need from the server. */
export type ReviewContext = {
  decide: (u: UserInfo, a: Attributes) => Decision;
  rules: (u: UserInfo, namespace: string) => RulesReview;
  authn: Authenticator;
};

type Json = Record<string, unknown>;
type ResourceAttrs = {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
};
type NonResourceAttrs = { path?: string; verb?: string };
type AccessSpec = {
  resourceAttributes?: ResourceAttrs;
  nonResourceAttributes?: NonResourceAttrs;
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
};

const AUTHZ = "authorization.k8s.io";
const AUTHN = "authentication.k8s.io";
const TOKEN_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/;
const LOCAL_SAR =
  /^\/apis\/authorization\.k8s\.io\/v1\/namespaces\/([^/]+)\/localsubjectaccessreviews$/;

function attributesOf(spec: AccessSpec): Attributes | undefined {
  if (spec.nonResourceAttributes) {
    const n = spec.nonResourceAttributes;
    return { resourceRequest: false, verb: n.verb ?? "", path: n.path ?? "" };
  }
  if (!spec.resourceAttributes) return undefined;
  const r = spec.resourceAttributes;
  const a: Attributes = {
    resourceRequest: true,
    verb: r.verb ?? "",
    group: r.group ?? "",
    resource: r.resource ?? "",
  };
  if (r.version) a.version = r.version;
  if (r.subresource) a.subresource = r.subresource;
  if (r.namespace) a.namespace = r.namespace;
  if (r.name) a.name = r.name;
  return a;
}

function review(kind: string, group: string, body: Json, status: Json, namespace?: string) {
  return jsonResponse(201, {
    kind,
    apiVersion: `${group}/v1`,
    metadata: { ...(namespace ? { namespace } : {}), creationTimestamp: null },
    spec: (body.spec ?? {}) as Json,
    status,
  });
}

function accessStatus(d: Decision): Json {
  return d.reason ? { allowed: d.allowed, reason: d.reason } : { allowed: d.allowed };
}

function invalidReview(kind: string, group: string, causes: StatusCause[]) {
  return statusResponse(invalid(`${kind}.${group}`, "", causes, { group, kind }));
}

/** The user of a SelfSubjectReview / TokenReview, with empty fields left out as on the wire. */
function userInfoJson(u: UserInfo): Json {
  const out: Json = { username: u.username };
  if (u.uid) out.uid = u.uid;
  out.groups = u.groups;
  if (u.extra && Object.keys(u.extra).length > 0) out.extra = u.extra;
  return out;
}

/**
 * Answers a POST to one of the review or token endpoints for an already authorized `user`,
 * or returns undefined when the path is none of them.
 */
export async function serveReview(
  ctx: ReviewContext,
  req: Request,
  path: string,
  user: UserInfo,
): Promise<Response | undefined> {
  if (req.method !== "POST") return undefined;
  const token = path.match(TOKEN_PATH);
  const local = path.match(LOCAL_SAR);
  const known = token || local || [
    `/apis/${AUTHZ}/v1/selfsubjectaccessreviews`,
    `/apis/${AUTHZ}/v1/selfsubjectrulesreviews`,
    `/apis/${AUTHZ}/v1/subjectaccessreviews`,
    `/apis/${AUTHN}/v1/selfsubjectreviews`,
    `/apis/${AUTHN}/v1/tokenreviews`,
  ].includes(path);
  if (!known) return undefined;
  const bytes = new Uint8Array(await req.arrayBuffer());
  let body: Json;
  if (isKubeProtobuf(bytes)) {
    const decoded = reviewFromProtobuf(bytes);
    if (!decoded) {
      return statusResponse(unsupportedMediaType(["application/json", "application/yaml"]));
    }
    body = decoded;
  } else {
    const text = new TextDecoder().decode(bytes);
    try {
      body = text.trim() ? JSON.parse(text) : {};
    } catch (e) {
      return statusResponse(badRequest(`error decoding body: ${(e as Error).message}`));
    }
  }
  const spec = (body.spec ?? {}) as AccessSpec & { namespace?: string; token?: string };
  if (token) {
    const [, ns, name] = token;
    const secs = (body.spec as { expirationSeconds?: number } | undefined)?.expirationSeconds;
    const r = ctx.authn.issue(decodeURIComponent(ns!), decodeURIComponent(name!), secs);
    if (!r.ok) return statusResponse(r.error);
    return jsonResponse(201, {
      kind: "TokenRequest",
      apiVersion: `${AUTHN}/v1`,
      metadata: { name, namespace: ns, creationTimestamp: null },
      spec: {
        audiences: (body.spec as { audiences?: string[] })?.audiences ?? [
          "https://kubernetes.default.svc.cluster.local",
        ],
        expirationSeconds: secs ?? 3600,
        boundObjectRef: null,
      },
      status: r.value,
    });
  }
  if (path.endsWith("/selfsubjectreviews")) {
    return review("SelfSubjectReview", AUTHN, {}, { userInfo: userInfoJson(user) });
  }
  if (path.endsWith("/tokenreviews")) {
    const who = spec.token ? ctx.authn.authenticateToken(spec.token) : undefined;
    return review(
      "TokenReview",
      AUTHN,
      body,
      who
        ? { authenticated: true, user: userInfoJson(who) }
        : { user: {}, error: "invalid bearer token" },
    );
  }
  if (path.endsWith("/selfsubjectrulesreviews")) {
    if (!spec.namespace) return statusResponse(badRequest("no namespace on request"));
    const r = ctx.rules(user, spec.namespace);
    return review("SelfSubjectRulesReview", AUTHZ, body, r as unknown as Json);
  }
  const a = attributesOf(spec);
  const kind = path.endsWith("/selfsubjectaccessreviews")
    ? "SelfSubjectAccessReview"
    : local
    ? "LocalSubjectAccessReview"
    : "SubjectAccessReview";
  if (!a || (spec.resourceAttributes && spec.nonResourceAttributes)) {
    return invalidReview(kind, AUTHZ, [{
      reason: "FieldValueInvalid",
      field: "spec.resourceAttributes",
      message:
        'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    }]);
  }
  if (kind === "SelfSubjectAccessReview") {
    return review(kind, AUTHZ, body, accessStatus(ctx.decide(user, a)));
  }
  if (!spec.user && (spec.groups ?? []).length === 0) {
    return invalidReview(kind, AUTHZ, [{
      reason: "FieldValueInvalid",
      field: "spec.user",
      message: 'Invalid value: "": at least one of user or group must be specified',
    }]);
  }
  const ns = local ? decodeURIComponent(local[1]!) : undefined;
  if (ns !== undefined && a.resourceRequest && (a.namespace ?? "") !== ns) {
    return invalidReview(kind, AUTHZ, [{
      reason: "FieldValueInvalid",
      field: "spec.resourceAttributes.namespace",
      message: `Invalid value: "${a.namespace ?? ""}": must match metadata.namespace`,
    }]);
  }
  const subject: UserInfo = { username: spec.user ?? "", groups: spec.groups ?? [] };
  if (spec.uid) subject.uid = spec.uid;
  if (spec.extra) subject.extra = spec.extra;
  return review(kind, AUTHZ, body, accessStatus(ctx.decide(subject, a)), ns);
}
