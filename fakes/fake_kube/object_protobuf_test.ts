/**
 * Protobuf create bodies read back as the JSON a real API server would make of them: bodies
 * captured from kubectl 1.32 (`kubectl create ... -v=9` prints them as hex), then messages
 * built by hand for each translation rule, then the answers over HTTP.
 */
import assert from "node:assert/strict";
import { objectFromProtobuf, type ProtobufBody } from "./object_protobuf.ts";
import { fromHex, kubeBody, message, type PbField } from "./testing/protobuf.ts";
import { withKube } from "./testing/client.ts";

// Request bodies kubectl v1.32.4 sent for these commands (namespace default).
/** `kubectl create deployment web --image=registry.invalid/pause:3 --replicas=6` */
const DEPLOYMENT_6 = fromHex(
  "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bf010a1f0a0377656212001a0022002a" +
    "003200380042005a0a0a036170701203776562128d010806120c0a0a0a0361707012037765621a730a1c0a00" +
    "12001a0022002a003200380042005a0a0a036170701203776562125312350a05706175736512187265676973" +
    "7472792e696e76616c69642f70617573653a332a0042006a007200800100880100900100a201001a00320042" +
    "004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038" +
    "001a002200",
);
/** `kubectl create deployment zero --image=x --replicas=0` */
const DEPLOYMENT_0 = fromHex(
  "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412a7010a210a047a65726f12001a002200" +
    "2a003200380042005a0b0a0361707012047a65726f12740800120d0a0b0a0361707012047a65726f1a590a1d" +
    "0a0012001a0022002a003200380042005a0b0a0361707012047a65726f1238121a0a01781201782a0042006a" +
    "007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022" +
    "020a00280038001a0c0800100018002000280038001a002200",
);
/** `kubectl create job j --image=x` */
const JOB = fromHex(
  "6b3873000a0f0a0862617463682f763112034a6f6212720a110a016a12001a0022002a003200380042001253" +
    "32510a100a0012001a0022002a00320038004200123d121a0a016a1201782a0042006a007200800100880100" +
    "900100a201001a054e65766572320042004a0052005800600068008201008a01009a0100c201001a08200028" +
    "0030003a001a002200",
);
/** `kubectl create cronjob c --image=x --schedule='*\/5 * * * *'` */
const CRONJOB = fromHex(
  "6b3873000a130a0862617463682f7631120743726f6e4a6f621294010a110a016312001a0022002a00320038" +
    "004200127d0a0b2a2f35202a202a202a202a1a002a6c0a110a016312001a0022002a00320038004200125732" +
    "550a100a0012001a0022002a003200380042001241121a0a01631201782a0042006a00720080010088010090" +
    "0100a201001a094f6e4661696c757265320042004a0052005800600068008201008a01009a0100c201001a00" +
    "1a002200",
);
/** `kubectl create pdb p --selector=app=web --min-available=1` */
const PDB = fromHex(
  "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e42756467657412370a110a01" +
    "7012001a0022002a0032003800420012160a06080010011a00120c0a0a0a0361707012037765621a0a080018" +
    "002000280030001a002200",
);
/** `kubectl create serviceaccount sa` */
const SERVICE_ACCOUNT = fromHex(
  "6b3873000a140a027631120e536572766963654163636f756e7412140a120a02736112001a0022002a003200" +
    "380042001a002200",
);
/** `kubectl create service clusterip s --tcp=80:8080` */
const SERVICE = fromHex(
  "6b3873000a0d0a02763112075365727669636512630a1b0a017312001a0022002a003200380042005a080a03" +
    "61707012017312400a1b0a0738302d38303830120354435018502207080010903f1a00280012080a03617070" +
    "1201731a002209436c757374657249503a00420052005a00600068001a020a001a002200",
);
/** `kubectl create secret generic pve --from-literal=token=s3cret --type=Opaque` */
const SECRET = fromHex(
  "6b3873000a0c0a0276311206536563726574122e0a130a0370766512001a0022002a00320038004200120f0a" +
    "05746f6b656e12067333637265741a064f70617175651a002200",
);
/** `kubectl create configmap cfg --from-literal=a=b` */
const CONFIG_MAP = fromHex(
  "6b3873000a0f0a0276311209436f6e6669674d6170121d0a130a0363666712001a0022002a00320038004200" +
    "12060a01611201621a002200",
);
/** `kubectl create namespace ops` */
const NAMESPACE = fromHex(
  "6b3873000a0f0a02763112094e616d657370616365121b0a130a036f707312001a0022002a00320038004200" +
    "12001a020a001a002200",
);
/** `kubectl create role r --verb=get --resource=pods` (a kind the fake has no table for) */
const ROLE = fromHex(
  "6b3873000a240a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311204526f6c651222" +
    "0a110a017212001a0022002a00320038004200120d0a0367657412001a04706f64731a002200",
);

function decoded(body: Uint8Array): Record<string, unknown> {
  const r = objectFromProtobuf(body);
  if (!r.ok) throw new Error(`expected an object, got ${JSON.stringify(r.error)}`);
  return r.value;
}

function refusal(r: ProtobufBody): string {
  assert.ok(!r.ok, "expected a refusal");
  assert.equal(r.error.reason, "BadRequest");
  return r.error.reason === "BadRequest" ? r.error.message : "";
}

const podTemplate = (labels: Record<string, string> | undefined, spec: unknown) => ({
  ...(labels ? { metadata: { labels } } : {}),
  spec,
});

Deno.test("kubectl's Deployment body reads as the Deployment it creates, zero fields left out", () => {
  assert.deepEqual(decoded(DEPLOYMENT_6), {
    kind: "Deployment",
    apiVersion: "apps/v1",
    metadata: { name: "web", labels: { app: "web" } },
    spec: {
      replicas: 6,
      selector: { matchLabels: { app: "web" } },
      template: podTemplate({ app: "web" }, {
        containers: [{ name: "pause", image: "registry.invalid/pause:3" }],
      }),
    },
  });
});

Deno.test("--replicas=0 stays 0: a pointer's zero is a value, not the default", () => {
  assert.deepEqual(decoded(DEPLOYMENT_0), {
    kind: "Deployment",
    apiVersion: "apps/v1",
    metadata: { name: "zero", labels: { app: "zero" } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "zero" } },
      template: podTemplate({ app: "zero" }, { containers: [{ name: "x", image: "x" }] }),
    },
  });
});

Deno.test("kubectl's Job and CronJob bodies read as their specs, the job template nested", () => {
  assert.deepEqual(decoded(JOB), {
    kind: "Job",
    apiVersion: "batch/v1",
    metadata: { name: "j" },
    spec: {
      template: podTemplate(undefined, {
        containers: [{ name: "j", image: "x" }],
        restartPolicy: "Never",
      }),
    },
  });
  assert.deepEqual(decoded(CRONJOB), {
    kind: "CronJob",
    apiVersion: "batch/v1",
    metadata: { name: "c" },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: {
        metadata: { name: "c" },
        spec: {
          template: podTemplate(undefined, {
            containers: [{ name: "c", image: "x" }],
            restartPolicy: "OnFailure",
          }),
        },
      },
    },
  });
});

Deno.test("kubectl's PodDisruptionBudget, ServiceAccount and Service bodies read as what they create", () => {
  assert.deepEqual(decoded(PDB), {
    kind: "PodDisruptionBudget",
    apiVersion: "policy/v1",
    metadata: { name: "p" },
    spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
  });
  assert.deepEqual(decoded(SERVICE_ACCOUNT), {
    kind: "ServiceAccount",
    apiVersion: "v1",
    metadata: { name: "sa" },
  });
  assert.deepEqual(decoded(SERVICE), {
    kind: "Service",
    apiVersion: "v1",
    metadata: { name: "s", labels: { app: "s" } },
    spec: {
      ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }],
      selector: { app: "s" },
      type: "ClusterIP",
    },
  });
});

Deno.test("kubectl's Secret, ConfigMap and Namespace bodies read as before: Secret data stays base64", () => {
  assert.deepEqual(decoded(SECRET), {
    kind: "Secret",
    apiVersion: "v1",
    metadata: { name: "pve" },
    data: { token: btoa("s3cret") },
    type: "Opaque",
  });
  assert.deepEqual(decoded(CONFIG_MAP), {
    kind: "ConfigMap",
    apiVersion: "v1",
    metadata: { name: "cfg" },
    data: { a: "b" },
  });
  assert.deepEqual(decoded(NAMESPACE), {
    kind: "Namespace",
    apiVersion: "v1",
    metadata: { name: "ops" },
  });
});

Deno.test("a kind without a message table is NoSchema (answered 415), not misread", () => {
  assert.deepEqual(objectFromProtobuf(ROLE), {
    ok: false,
    error: { reason: "NoSchema", apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role" },
  });
  assert.deepEqual(objectFromProtobuf(fromHex("6b387300")), {
    ok: false,
    error: { reason: "NoSchema", apiVersion: "", kind: "" },
  });
});

const meta = (name: string): PbField => [1, [[1, name], [3, ""], [8, []]]];

Deno.test("zero strings, numbers and bools are left out unless the Go field is a pointer", () => {
  const body = kubeBody("apps/v1", "Deployment", [
    meta("d"),
    [2, [[1, 0], [5, 0], [6, 0], [7, false], [9, 0], [10, ""], [4, [[1, ""]]]]],
  ]);
  assert.deepEqual(decoded(body), {
    kind: "Deployment",
    apiVersion: "apps/v1",
    metadata: { name: "d" },
    spec: {
      replicas: 0,
      revisionHistoryLimit: 0,
      progressDeadlineSeconds: 0,
      podReplacementPolicy: "",
    },
  });
  const job = kubeBody("batch/v1", "Job", [meta("j"), [2, [[10, false], [3, -1]]]]);
  assert.deepEqual(decoded(job).spec, { activeDeadlineSeconds: -1, suspend: false });
});

Deno.test("Time is RFC 3339 in UTC, to the second; a zero Time is left out", () => {
  const body = kubeBody("v1", "ConfigMap", [
    [1, [[1, "c"], [8, [[1, 1700000000], [2, 500]]], [9, [[1, 0], [2, 0]]]]],
  ]);
  assert.deepEqual(decoded(body).metadata, {
    name: "c",
    creationTimestamp: "2023-11-14T22:13:20Z",
  });
  const far = kubeBody("v1", "ConfigMap", [[1, [[1, "c"], [8, [[1, 2n ** 62n]]]]]]);
  assert.match(
    refusal(objectFromProtobuf(far)),
    /malformed Time at metadata\.creationTimestamp: \d+ seconds is out of range/,
  );
});

Deno.test("IntOrString is a number (type 0) or a string (type 1); a pointer's 0 is kept", () => {
  const pdb = kubeBody("policy/v1", "PodDisruptionBudget", [
    meta("p"),
    [2, [[1, [[1, 1], [2, 0], [3, "50%"]]], [3, [[1, 0], [2, 0], [3, ""]]]]],
  ]);
  assert.deepEqual(decoded(pdb).spec, { minAvailable: "50%", maxUnavailable: 0 });
  const svc = kubeBody("v1", "Service", [
    meta("s"),
    [2, [[1, [[3, 80], [4, [[1, 0], [2, 0], [3, ""]]]]], [1, [[3, 81], [4, [[1, 1], [
      3,
      "http",
    ]]]]]]],
  ]);
  assert.deepEqual(
    decoded(svc).spec,
    { ports: [{ port: 80 }, { port: 81, targetPort: "http" }] },
    "a non-pointer zero targetPort is left out (the apiserver then defaults it to port)",
  );
});

Deno.test("volumes, probes and key selectors merge their Go-inline parts; emptyDir {} stays", () => {
  const pod = kubeBody("v1", "Pod", [
    meta("p"),
    [2, [
      [1, [[1, "scratch"], [2, [[2, [[1, ""]]]]]]],
      [1, [[1, "cfg"], [2, [[19, [[1, [[1, "app-config"]]], [3, 420]]]]]]],
      [2, [
        [1, "app"],
        [7, [[1, "TOKEN"], [3, [[4, [[1, [[1, "creds"]]], [2, "token"]]]]]]],
        [8, [[2, [[1, "cpu"], [2, [[1, "100m"]]]]], [2, [[1, "memory"], [2, [[1, "64Mi"]]]]]]],
        [10, [[1, [[2, [[1, "/healthz"], [2, [[1, 0], [2, 8080]]]]]]], [4, 10]]],
        [15, []],
      ]],
      [22, [[1, "k"], [2, "Exists"], [5, -1]]],
      [22, []],
    ]],
  ]);
  assert.deepEqual(decoded(pod).spec, {
    volumes: [
      { name: "scratch", emptyDir: {} },
      { name: "cfg", configMap: { name: "app-config", defaultMode: 420 } },
    ],
    containers: [{
      name: "app",
      env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "creds", key: "token" } } }],
      resources: { requests: { cpu: "100m", memory: "64Mi" } },
      livenessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 10 },
      securityContext: {},
    }],
    tolerations: [{ key: "k", operator: "Exists", tolerationSeconds: -1 }, {}],
  });
});

Deno.test("maps, bytes, repeated strings, packed or unpacked repeated ints and FieldsV1 decode", () => {
  const secret = kubeBody("v1", "Secret", [
    meta("s"),
    [2, [[1, "bin"], [2, Uint8Array.of(0, 255, 10)]]],
    [2, [[1, "empty"]]],
    [4, [[1, "plain"], [2, "text"]]],
  ]);
  assert.deepEqual(decoded(secret), {
    kind: "Secret",
    apiVersion: "v1",
    metadata: { name: "s" },
    data: { bin: "AP8K", empty: "" },
    stringData: { plain: "text" },
  });
  const pod = kubeBody("v1", "Pod", [
    meta("p"),
    [2, [[14, [[4, 1], [4, 2], [4, Uint8Array.of(3, 0x80, 0x01)]]], [2, [[3, "a"], [3, ""]]]]],
  ]);
  assert.deepEqual(decoded(pod).spec, {
    containers: [{ command: ["a", ""] }],
    securityContext: { supplementalGroups: [1, 2, 3, 128] },
  });
  const managed = kubeBody("v1", "ConfigMap", [
    [1, [[1, "c"], [17, [[1, "kubectl"], [2, "Apply"], [6, "FieldsV1"], [7, [[
      1,
      '{"f:data":{}}',
    ]]]]]]],
  ]);
  assert.deepEqual(decoded(managed).metadata, {
    name: "c",
    managedFields: [{
      manager: "kubectl",
      operation: "Apply",
      fieldsType: "FieldsV1",
      fieldsV1: { "f:data": {} },
    }],
  });
});

Deno.test("an unknown field is skipped when it carries nothing and refused by message and number otherwise", () => {
  const quiet = kubeBody("apps/v1", "Deployment", [
    meta("d"),
    [2, [[1, 2], [42, 0], [43, ""], [44, [[1, ""], [2, 0]]]]],
  ]);
  assert.deepEqual(decoded(quiet).spec, { replicas: 2 });
  const loud = kubeBody("apps/v1", "Deployment", [meta("d"), [2, [[1, 2], [42, 7]]]]);
  assert.equal(
    refusal(objectFromProtobuf(loud)),
    "the protobuf body of apps/v1 Deployment cannot be decoded: field 42 of DeploymentSpec at " +
      "spec is not known to the fake API server and carries a value (varint 7); send this " +
      "object as JSON",
  );
  const deep = kubeBody("v1", "Pod", [meta("p"), [2, [[2, [[1, "c"], [99, "x"]]]]]]);
  assert.match(refusal(objectFromProtobuf(deep)), /field 99 of Container at spec\.containers\[0\]/);
});

Deno.test("malformed bytes are a BadRequest that says where, never a crash", () => {
  for (const cut of [5, 20, 60, DEPLOYMENT_6.length - 3]) {
    assert.match(
      refusal(objectFromProtobuf(DEPLOYMENT_6.subarray(0, cut))),
      /cannot be decoded: malformed .+ at byte \d+ of a \d+-byte message|runs past the end/,
      `cut at ${cut}`,
    );
  }
  assert.match(refusal(objectFromProtobuf(new TextEncoder().encode("{}"))), /expected prefix/);
  const wrongWire = kubeBody("apps/v1", "Deployment", [meta("d"), [2, [[1, "six"]]]]);
  assert.match(
    refusal(objectFromProtobuf(wrongWire)),
    /malformed DeploymentSpec at spec\.replicas: field 1 is a bytes value where a varint belongs/,
  );
  const gzip = kubeBody("v1", "ConfigMap", [meta("c")], [[3, "gzip"]]);
  assert.match(refusal(objectFromProtobuf(gzip)), /content encoding "gzip"/);
  const group = kubeBody("v1", "ConfigMap", Uint8Array.of(0x0b, 0x0c));
  assert.match(refusal(objectFromProtobuf(group)), /wire type 3 of field 1/);
  const badFields = kubeBody("v1", "ConfigMap", [meta("c"), [5, message([[1, "x"]])]]);
  assert.match(refusal(objectFromProtobuf(badFields)), /field 5 of ConfigMap/);
});

Deno.test("over HTTP a protobuf Deployment is created, a malformed one is 400 and a Role 415", async () => {
  await withKube({}, async (k) => {
    const post = async (path: string, body: Uint8Array<ArrayBuffer>) => {
      const r = await fetch(k.url + path, {
        method: "POST",
        headers: {
          authorization: `Bearer ${k.token}`,
          "content-type": "application/vnd.kubernetes.protobuf",
          accept: "application/vnd.kubernetes.protobuf,application/json",
        },
        body,
      });
      return { status: r.status, json: await r.json() };
    };
    const created = await post("/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT_0);
    assert.equal(created.status, 201);
    assert.equal(created.json.spec.replicas, 0);
    assert.equal(created.json.metadata.namespace, "default");
    const cut = await post(
      "/apis/apps/v1/namespaces/default/deployments",
      kubeBody("apps/v1", "Deployment", Uint8Array.of(0x12, 0x05, 0x08)),
    );
    assert.equal(cut.status, 400);
    assert.equal(cut.json.reason, "BadRequest");
    assert.equal(
      cut.json.message,
      "the protobuf body of apps/v1 Deployment cannot be decoded: malformed Deployment: " +
        "field 2 of length 5 runs past the end at byte 0 of a 3-byte message",
    );
    const role = await post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", ROLE);
    assert.equal(role.status, 415);
    assert.equal(role.json.reason, "UnsupportedMediaType");
  });
});
