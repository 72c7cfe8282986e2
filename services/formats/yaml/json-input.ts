/**
 * JSON input (JSON is YAML): `JSON.parse` is the fastest parser there is, so text that
 * starts with `{` or `[` is tried as JSON first. The result is then brought to the YAML
 * output contract — every scalar a string — in place: numbers become `String(n)` (so the
 * JSON text `1.0` reads as "1", unlike YAML where it stays "1.0"), booleans "true"/"false",
 * null stays null. Like JSON.parse, duplicate keys keep the last value.
 */

export type JsonOutcome =
  | { kind: 'value'; value: unknown }
  /** Not JSON (or not starting with `{`/`[`): parse it as YAML. */
  | { kind: 'not-json' }
  /** Valid JSON nested deeper than the limit: the YAML path reports it with a position. */
  | { kind: 'too-deep' };

/** `start` is the offset after an optional BOM. */
export function tryJson(text: string, start: number, maxDepth: number): JsonOutcome {
  let p = start;
  let c = text.charCodeAt(p);
  while (c === 32 || c === 9 || c === 10 || c === 13) c = text.charCodeAt(++p);
  if (c !== 123 /* { */ && c !== 91 /* [ */) return { kind: 'not-json' };
  let value: unknown;
  try {
    value = JSON.parse(start === 0 ? text : text.slice(start));
  } catch {
    return { kind: 'not-json' };
  }
  return stringifyScalars(value, maxDepth) ? { kind: 'value', value } : { kind: 'too-deep' };
}

/**
 * Replace numbers and booleans by strings throughout, without recursion. Returns false
 * when the nesting exceeds `maxDepth` (the tree is then partly converted; discard it).
 * Keys already exist as own data properties, so assigning through `__proto__` is safe.
 */
function stringifyScalars(root: unknown, maxDepth: number): boolean {
  if (root === null || typeof root !== 'object') return true;
  const nodes: object[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const d = depths.pop()!;
    if (d > maxDepth) return false;
    if (Array.isArray(node)) {
      const a = node as unknown[];
      for (let i = 0; i < a.length; i++) {
        const v = a[i];
        const t = typeof v;
        if (t === 'number' || t === 'boolean') a[i] = String(v);
        else if (v !== null && t === 'object') {
          nodes.push(v as object);
          depths.push(d + 1);
        }
      }
    } else {
      const o = node as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const v = o[k];
        const t = typeof v;
        if (t === 'number' || t === 'boolean') o[k] = String(v);
        else if (v !== null && t === 'object') {
          nodes.push(v as object);
          depths.push(d + 1);
        }
      }
    }
  }
  return true;
}
