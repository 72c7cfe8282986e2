/**
 * Alias-bomb and depth check for documents parsed by js-yaml. js-yaml resolves an alias to
 * the *same* object as its anchor, so a "billion laughs" file is small in memory but
 * explodes for anyone who walks it (the planner, JSON.stringify). We measure the tree as a
 * consumer would see it — every node counted at every use — with memoisation over object
 * identity, so the check is linear in the number of distinct nodes and takes milliseconds
 * even when the expanded size is astronomically large.
 */

export interface TreeMeasure {
  /** Distinct nodes: each distinct collection once, plus its scalar slots. */
  unique: number;
  /** Nodes of the fully expanded tree (may be huge; exact up to 2^53, then approximate). */
  expanded: number;
  /** Collections on the longest root-to-leaf path of the expanded tree. */
  depth: number;
  /** True when a collection contains itself (a recursive alias: infinite expansion). */
  cyclic: boolean;
}

interface Frame {
  node: object;
  children: unknown[];
  next: number;
  size: number;
  depth: number;
}

const IN_PROGRESS = -1;

/** Measure a parsed YAML tree (strings, null, arrays, plain objects) without recursion. */
export function measureTree(root: unknown): TreeMeasure {
  if (root === null || typeof root !== 'object') {
    return { unique: 1, expanded: 1, depth: 0, cyclic: false };
  }
  const size = new Map<object, number>();
  const depthOf = new Map<object, number>();
  let unique = 0;
  const stack: Frame[] = [];
  const open = (node: object): void => {
    size.set(node, IN_PROGRESS);
    const children = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
    unique += 1;
    stack.push({ node, children, next: 0, size: 1, depth: 0 });
  };
  open(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.children.length) {
      const child = top.children[top.next++];
      if (child === null || typeof child !== 'object') {
        unique += 1;
        top.size += 1;
        continue;
      }
      const known = size.get(child);
      if (known === IN_PROGRESS)
        return { unique, expanded: Infinity, depth: Infinity, cyclic: true };
      if (known !== undefined) {
        top.size += known;
        top.depth = Math.max(top.depth, depthOf.get(child) ?? 0);
        continue;
      }
      open(child);
      continue;
    }
    stack.pop();
    const d = top.depth + 1;
    size.set(top.node, top.size);
    depthOf.set(top.node, d);
    const parent = stack[stack.length - 1];
    if (parent !== undefined) {
      parent.size += top.size;
      parent.depth = Math.max(parent.depth, d);
    }
  }
  return {
    unique,
    expanded: size.get(root) ?? 1,
    depth: depthOf.get(root) ?? 1,
    cyclic: false,
  };
}

/** The largest expanded size accepted for a document with `unique` distinct nodes. */
export function expansionAllowance(unique: number, maxAliasExpansion: number): number {
  return Math.max(2 * unique, unique + maxAliasExpansion);
}

/** Nesting depth of a tree known to share no nodes (no aliases): a plain iterative walk. */
export function treeDepth(root: unknown): number {
  if (root === null || typeof root !== 'object') return 0;
  let max = 0;
  const nodes: object[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const d = depths.pop()!;
    if (d > max) max = d;
    const children = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        nodes.push(child);
        depths.push(d + 1);
      }
    }
  }
  return max;
}
