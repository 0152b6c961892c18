/**
 * A stable in-place sort that allocates nothing for the short arrays a decision pass sorts on
 * every call (a node's pods, a small cluster's nodes and claims). Array.prototype.sort is
 * stable too, so both give the same order for the same comparator; the built-in one allocates
 * its work arrays on every call, which a pass that runs tens of thousands of times pays for in
 * garbage collection.
 *
 * May import: nothing.
 */

/** Longest array sorted by insertion; longer ones go to Array.prototype.sort. */
const SMALL = 24;

/** Sorts `list` in place by `cmp` (stable) and returns it, like `list.sort(cmp)`. */
export function sortSmall<T>(list: T[], cmp: (a: T, b: T) => number): T[] {
  const n = list.length;
  if (n > SMALL) return list.sort(cmp);
  for (let i = 1; i < n; i++) {
    const x = list[i]!;
    let j = i - 1;
    // Move only past strictly greater elements: equal ones keep their order (stable).
    while (j >= 0 && cmp(list[j]!, x) > 0) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = x;
  }
  return list;
}
