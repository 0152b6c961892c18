/**
 * Label and field selectors: the query-string grammars of
 * `labelSelector`/`fieldSelector` and the structured `LabelSelector` inside PDBs.
 */
import { err, ok, type Result } from "../result.ts";

type LabelOp = "=" | "!=" | "in" | "notin" | "exists" | "!" | ">" | "<";
/** One parsed label requirement; all must hold. */
export type LabelRequirement = { key: string; op: LabelOp; values: string[] };
/** An object's labels (absent on many objects). */
export type Labels = Record<string, string> | undefined;

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** Parses `app=web,tier!=db,env in (a,b),!legacy`; the error text becomes a 400 message. */
export function parseLabelSelector(input: string): Result<LabelRequirement[], string> {
  const out: LabelRequirement[] = [];
  if (input.trim() === "") return ok(out);
  for (const raw of splitTopLevel(input)) {
    const part = raw.trim();
    if (part === "") return err(`unable to parse requirement: found '', expected: identifier`);
    let m: RegExpMatchArray | null;
    let req: LabelRequirement;
    if ((m = part.match(/^!\s*(\S+)$/))) req = { key: m[1]!, op: "!", values: [] };
    else if ((m = part.match(/^(\S+?)\s+(in|notin)\s*\((.*)\)$/))) {
      const values = m[3]!.split(",").map((v) => v.trim());
      req = { key: m[1]!, op: m[2] as "in" | "notin", values };
    } else if ((m = part.match(/^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/))) {
      const op = m[2] === "==" ? "=" : m[2] as LabelOp;
      req = { key: m[1]!, op, values: [m[3]!.trim()] };
      if ((op === ">" || op === "<") && !/^-?\d+$/.test(req.values[0]!)) {
        return err(
          `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`,
        );
      }
    } else if (/^[^=!<>\s(),]+$/.test(part)) req = { key: part, op: "exists", values: [] };
    else return err(`unable to parse requirement: found '${part}', expected: identifier`);
    if (!KEY.test(req.key)) {
      return err(`unable to parse requirement: invalid label key "${req.key}"`);
    }
    for (const v of req.values) {
      if ((req.op !== ">" && req.op !== "<") && !VALUE.test(v)) {
        return err(`unable to parse requirement: invalid label value: "${v}"`);
      }
    }
    out.push(req);
  }
  return ok(out);
}

/** True when every requirement holds for these labels. */
export function matchLabels(reqs: LabelRequirement[], labels: Labels): boolean {
  for (const r of reqs) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const v = has ? labels![r.key]! : undefined;
    switch (r.op) {
      case "=":
        if (v !== r.values[0]) return false;
        break;
      case "!=":
        if (v === r.values[0]) return false;
        break;
      case "in":
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case "notin":
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case "exists":
        if (!has) return false;
        break;
      case "!":
        if (has) return false;
        break;
      case ">":
      case "<": {
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        const a = Number(v);
        const b = Number(r.values[0]);
        if (r.op === ">" ? !(a > b) : !(a < b)) return false;
      }
    }
  }
  return true;
}

/** The structured selector of PDBs and affinity terms (`matchLabels` + `matchExpressions`). */
export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** policy/v1 semantics: `{}` matches everything; an absent selector is handled by the caller. */
export function matchLabelSelector(sel: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (labels?.[k] !== v) return false;
  }
  for (const e of sel.matchExpressions ?? []) {
    const has = labels !== undefined && Object.hasOwn(labels, e.key);
    const v = labels?.[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !values.includes(v!)) return false;
        break;
      case "NotIn":
        if (has && values.includes(v!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A structured selector in its string form (`app=web,tier in (a,b)`), keys sorted as Go does. */
export function formatLabelSelector(sel: LabelSelector): string {
  const parts: [string, string][] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push([k, `${k}=${v}`]);
  for (const e of sel.matchExpressions ?? []) {
    const vs = [...(e.values ?? [])].sort().join(",");
    const text = e.operator === "In"
      ? `${e.key} in (${vs})`
      : e.operator === "NotIn"
      ? `${e.key} notin (${vs})`
      : e.operator === "Exists"
      ? e.key
      : `!${e.key}`;
    parts.push([e.key, text]);
  }
  return parts.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0).map((p) => p[1]).join(",");
}

/** One `field=value` / `field!=value` term. */
export type FieldRequirement = { field: string; op: "=" | "!="; value: string };

/** Parses a field selector, honouring `\,` `\=` `\!` `\\` escapes inside values. */
export function parseFieldSelector(input: string): Result<FieldRequirement[], string> {
  const out: FieldRequirement[] = [];
  if (input.trim() === "") return ok(out);
  const terms: string[] = [];
  let cur = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch === "\\" && i + 1 < input.length) {
      cur += ch + input[i + 1];
      i++;
    } else if (ch === ",") {
      terms.push(cur);
      cur = "";
    } else cur += ch;
  }
  terms.push(cur);
  for (const term of terms) {
    let i = 0;
    let found: FieldRequirement | undefined;
    for (; i < term.length; i++) {
      const ch = term[i]!;
      if (ch === "\\") {
        i++;
        continue;
      }
      if (ch === "!" && term[i + 1] === "=") {
        found = { field: term.slice(0, i), op: "!=", value: unescape(term.slice(i + 2)) };
        break;
      }
      if (ch === "=") {
        const skip = term[i + 1] === "=" ? 2 : 1;
        found = { field: term.slice(0, i), op: "=", value: unescape(term.slice(i + skip)) };
        break;
      }
    }
    if (!found) return err(`invalid selector: '${input}'; can't understand '${term}'`);
    found.field = found.field.trim();
    out.push(found);
  }
  return ok(out);
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

/** Matches field terms using a getter that returns the field's string form ("" when absent). */
export function matchFields(
  reqs: FieldRequirement[],
  get: (field: string) => string,
): boolean {
  for (const r of reqs) {
    const v = get(r.field);
    if (r.op === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}
