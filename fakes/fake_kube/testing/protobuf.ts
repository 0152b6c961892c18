/**
 * Test helpers that write Kubernetes protobuf bodies by hand: a message from
 * `[fieldNumber, value]` pairs (numbers, bigints and bools as varints, negative ones as 64-bit
 * two's complement; strings and bytes length-delimited; nested arrays as sub-messages), the
 * `k8s\0` + runtime.Unknown envelope around a typed message, and bytes from a hex dump such as
 * `kubectl -v=9` prints.
 *
 * May import: nothing of the project.
 */

/** A field value: varint (number, bigint, boolean), bytes (string, Uint8Array) or a message. */
export type PbValue = number | bigint | boolean | string | Uint8Array | PbField[];
/** One field: its number and value. */
export type PbField = [number, PbValue];

const enc = new TextEncoder();

function varint(v: bigint): number[] {
  let n = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}

/** The bytes of a message with these fields, in the order given. */
export function message(fields: PbField[]): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  for (const [n, v] of fields) {
    if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") {
      out.push(...varint(BigInt(n * 8)), ...varint(BigInt(typeof v === "boolean" ? +v : v)));
      continue;
    }
    const bytes = typeof v === "string" ? enc.encode(v) : v instanceof Uint8Array ? v : message(v);
    out.push(...varint(BigInt(n * 8 + 2)), ...varint(BigInt(bytes.length)), ...bytes);
  }
  return new Uint8Array(out);
}

/** `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw, extra envelope fields}. */
export function kubeBody(
  apiVersion: string,
  kind: string,
  raw: PbField[] | Uint8Array,
  extra: PbField[] = [],
): Uint8Array<ArrayBuffer> {
  const envelope = message([
    [1, [[1, apiVersion], [2, kind]]],
    [2, raw instanceof Uint8Array ? raw : message(raw)],
    ...extra,
  ]);
  return new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...envelope]);
}

/** Bytes from hex digits (whitespace ignored). */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const digits = hex.replace(/\s+/g, "");
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}
