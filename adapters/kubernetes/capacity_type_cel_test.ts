/**
 * The Provider CRD's admission rule on capacity types: a host's class must be built in
 * (reserved, standard, preemptible) or priced in the Provider's capacityTypes, as the config
 * loader says.
 */
import assert from "node:assert/strict";
import { evaluateCel } from "./cel.ts";
import { structuralSchema } from "./structural_schema.ts";
import { providerSpec } from "../config/schema.ts";

const schema = structuralSchema(providerSpec, []);
const rule = schema["x-kubernetes-validations"]!.find((r) => r.rule.includes("capacityType"))!
  .rule;
const base = {
  endpoint: "https://pve1.lan:8006",
  tokenId: "root@pam!p",
  tokenSecret: { file: "/t" },
  vmidRange: { lower: 100, upper: 200 },
};

Deno.test("the Provider CRD admits built-in and priced capacity types and refuses others", () => {
  const hosts = (capacityType?: string) => [
    { name: "a", ...(capacityType ? { capacityType } : {}) },
    { name: "b" },
  ];
  assert.equal(evaluateCel(rule, { ...base, hosts: hosts("preemptible") }, schema), true);
  assert.equal(evaluateCel(rule, { ...base, hosts: hosts() }, schema), true);
  assert.equal(evaluateCel(rule, { ...base, hosts: hosts("spot") }, schema), false);
  const priced = { ...base, capacityTypes: { spot: { perVcpuHour: 0.01, perGiBHour: 0.001 } } };
  assert.equal(evaluateCel(rule, { ...priced, hosts: hosts("spot") }, schema), true);
});
