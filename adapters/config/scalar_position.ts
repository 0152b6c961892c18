/**
 * Where a position inside a YAML string value lies in the file: a template error at "line 2,
 * column 14" of an inline `userData: |` block becomes the file's own line and column, so an
 * editor jumps to the typo.
 */
import { type Document, isNode, isScalar, type LineCounter } from "yaml";

/** Maps `inner` (1-based, within the scalar's text) to the file; undefined when it cannot. */
export function positionInScalar(
  doc: Document,
  lc: LineCounter,
  text: string,
  path: readonly PropertyKey[],
  inner: { line: number; col: number },
): { line: number; col: number } | undefined {
  const node = doc.getIn(path as unknown[], true);
  if (!isNode(node) || !isScalar(node) || !node.range) return undefined;
  const start = lc.linePos(node.range[0]);
  if (node.type === "BLOCK_LITERAL") {
    // Content starts on the line after the `|` header, at the block's indentation.
    const lines = text.split("\n");
    const first = lines.slice(start.line).find((l) => l.trim() !== "");
    const indent = first === undefined ? 0 : first.length - first.trimStart().length;
    return { line: start.line + inner.line, col: indent + inner.col };
  }
  if (inner.line === 1 && node.type === "PLAIN") {
    return { line: start.line, col: start.col + inner.col - 1 };
  }
  if (inner.line === 1 && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE")) {
    return { line: start.line, col: start.col + inner.col };
  }
  return undefined;
}
