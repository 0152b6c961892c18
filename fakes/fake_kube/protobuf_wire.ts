/**
 * The protobuf wire format, read strictly: one message's fields in wire order, each with its
 * wire type, varints as 64-bit integers (so negative int32/int64 values come back signed), and
 * a sentence naming the byte offset for every malformed input (a truncated varint, a length
 * running past the end, a group or an unknown wire type), never an exception.
 *
 * May import: nothing of the project.
 */

/** One field as it appears on the wire. */
export type WireField =
  | { field: number; wire: "varint"; value: bigint }
  | { field: number; wire: "bytes"; value: Uint8Array }
  | { field: number; wire: "fixed64" | "fixed32"; value: Uint8Array };

/** The fields of a message, or why its bytes are not a protobuf message. */
export type WireRead = { ok: true; value: WireField[] } | { ok: false; error: string };

/** The 4-byte prefix of every Kubernetes protobuf body (`k8s\0`). */
export const KUBE_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** Does this body start with the Kubernetes protobuf prefix? */
export function hasKubeMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && KUBE_MAGIC.every((b, i) => bytes[i] === b);
}

/** Reads every field of one message. */
export function readFields(bytes: Uint8Array): WireRead {
  const out: WireField[] = [];
  let i = 0;
  const varint = (): bigint | undefined => {
    let v = 0n;
    for (let n = 0; n < 10; n++) {
      if (i >= bytes.length) return undefined;
      const b = bytes[i++]!;
      v |= BigInt(b & 0x7f) << BigInt(7 * n);
      if ((b & 0x80) === 0) return BigInt.asUintN(64, v);
    }
    return undefined;
  };
  const fail = (at: number, what: string): WireRead => ({
    ok: false,
    error: `${what} at byte ${at} of a ${bytes.length}-byte message`,
  });
  while (i < bytes.length) {
    const at = i;
    const key = varint();
    if (key === undefined) return fail(at, "truncated field key");
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) return fail(at, "field number 0");
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return fail(at, `truncated varint of field ${field}`);
      out.push({ field, wire: "varint", value: v });
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined) return fail(at, `truncated length of field ${field}`);
      if (len > BigInt(bytes.length - i)) {
        return fail(at, `field ${field} of length ${len} runs past the end`);
      }
      out.push({ field, wire: "bytes", value: bytes.subarray(i, i + Number(len)) });
      i += Number(len);
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (i + n > bytes.length) return fail(at, `truncated fixed-width field ${field}`);
      out.push({
        field,
        wire: wire === 1 ? "fixed64" : "fixed32",
        value: bytes.subarray(i, i + n),
      });
      i += n;
    } else {
      return fail(at, `wire type ${wire} of field ${field} (groups are not used by Kubernetes)`);
    }
  }
  return { ok: true, value: out };
}

/** A varint read as a signed 64-bit integer (int32 and int64 fields), as a JS number. */
export function signed(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

/**
 * Does this length-delimited value carry nothing? Empty bytes, or a message whose every field
 * is zero or itself carries nothing: the zero value of a string, a bytes or a sub-message of
 * a field a schema does not know (the typed clients write every non-pointer field).
 */
export function carriesNothing(bytes: Uint8Array, depth = 0): boolean {
  if (bytes.length === 0) return true;
  if (depth > 32) return false;
  const r = readFields(bytes);
  if (!r.ok) return false;
  return r.value.every((f) =>
    f.wire === "varint"
      ? f.value === 0n
      : f.wire === "bytes"
      ? carriesNothing(f.value, depth + 1)
      : f.value.every((b) => b === 0)
  );
}

/** The varints of a packed repeated field, or undefined when the bytes are not varints. */
export function packedVarints(bytes: Uint8Array): bigint[] | undefined {
  const out: bigint[] = [];
  let v = 0n;
  let shift = 0n;
  for (const b of bytes) {
    v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) {
      out.push(BigInt.asUintN(64, v));
      v = 0n;
      shift = 0n;
    } else if (shift >= 70n) return undefined;
  }
  return shift === 0n ? out : undefined;
}
