/**
 * parseYaml: the one way aloft turns YAML (or JSON) text into data. Output contract —
 * exactly js-yaml's `load(text, { schema: FAILSAFE_SCHEMA })`, i.e. how Pegasus reads
 * scalars: every scalar a string, `key:` with nothing null, sequences arrays, mappings plain
 * objects (`__proto__` stored as an own property), duplicate keys rejected.
 *
 * Three paths, cheapest first:
 *  1. JSON (text starting with `{`/`[`): JSON.parse, then scalars turned into strings.
 *  2. The fast path (fast-parser.ts) for the common subset of YAML.
 *  3. js-yaml FAILSAFE for everything else (anchors, tags, block scalars, ...) and for every
 *     malformed input (its error positions are what the user sees), followed by the alias
 *     budget and depth checks.
 * Limits (size, depth, alias expansion) hold on every path; every failure is an
 * AloftError INVALID_ARGUMENT naming `source:line:column`.
 */
import yaml from 'js-yaml';
import { AloftError, toAloftError } from '../../../lib/errors/index.js';
import { expansionAllowance, measureTree, treeDepth } from './alias-budget.js';
import { Bail, fastParse, UNTERMINATED_FLOW, UNTERMINATED_QUOTE } from './fast-parser.js';
import { tryJson } from './json-input.js';
import { resolveLimits, type YamlLimits } from './limits.js';
import {
  depthMessage,
  fromYamlException,
  isYamlException,
  yamlError,
  yamlErrorAt,
} from './yaml-errors.js';

/** Which path produced a result (for tests, benchmarks and logs). */
export interface YamlParseStats {
  path?: 'json' | 'fast' | 'js-yaml';
  /** Why the fast path handed over to js-yaml (when it did). */
  fallbackReason?: string;
}

/**
 * Parse YAML or JSON text. `source` names the input in error messages (a file path).
 * Pass `stats` to learn which path ran.
 */
export function parseYaml(
  text: string,
  source: string,
  limits?: Partial<YamlLimits>,
  stats?: YamlParseStats,
): unknown {
  const lim = resolveLimits(limits);
  checkSize(text, source, lim.maxBytes);
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  const json = tryJson(text, start, lim.maxDepth);
  if (json.kind === 'value') {
    if (stats) stats.path = 'json';
    return json.value;
  }

  let bail: Bail;
  if (stats) stats.path = 'fast';
  try {
    return fastParse(text, source, lim.maxDepth);
  } catch (e) {
    if (!(e instanceof Bail)) throw stackOverflowAsDepth(e, source, lim.maxDepth);
    bail = e;
    if (stats) stats.fallbackReason = e.reason;
  }

  if (stats) stats.path = 'js-yaml';
  return parseWithJsYaml(text, source, lim, {
    quote: bail.reason === UNTERMINATED_QUOTE ? bail.pos : undefined,
    flow: bail.reason === UNTERMINATED_FLOW ? bail.pos : undefined,
  });
}

/**
 * The fast path alone: the value, or undefined when the input is outside its subset (or
 * malformed) and js-yaml would have to decide. Never undefined on success: empty documents
 * (whose value is undefined or null in js-yaml) are always left to js-yaml.
 */
export function parseYamlFast(text: string, source: string, limits?: Partial<YamlLimits>): unknown {
  const lim = resolveLimits(limits);
  checkSize(text, source, lim.maxBytes);
  try {
    return fastParse(text, source, lim.maxDepth);
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw stackOverflowAsDepth(e, source, lim.maxDepth);
  }
}

/** A stack overflow (only possible with a maxDepth far above the default) is a depth error. */
function stackOverflowAsDepth(e: unknown, source: string, maxDepth: number): unknown {
  if (!(e instanceof RangeError)) return e;
  const { message, hint } = depthMessage(maxDepth);
  return yamlError(source, 1, 1, message, hint);
}

function checkSize(text: string, source: string, maxBytes: number): void {
  // UTF-16 length <= UTF-8 byte length <= 3 × UTF-16 length: count bytes only when needed.
  if (text.length * 3 <= maxBytes) return;
  const bytes = text.length > maxBytes ? text.length : Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw tooLarge(source, maxBytes);
}

export function tooLarge(source: string, maxBytes: number): AloftError {
  return AloftError.invalid({
    where: source,
    message: `larger than the limit of ${maxBytes} bytes`,
    hint: 'split the workflow into sub-workflows, or raise the maxBytes limit',
  });
}

interface JsYamlLoadOptions extends yaml.LoadOptions {
  /** js-yaml ≥ 4.2: deepest nesting of nodes (collections and the scalar at the end). */
  maxDepth?: number;
}

function parseWithJsYaml(
  text: string,
  source: string,
  lim: YamlLimits,
  opened: { quote?: number; flow?: number } = {},
): unknown {
  let value: unknown;
  try {
    const options: JsYamlLoadOptions = {
      schema: yaml.FAILSAFE_SCHEMA,
      filename: source,
      // js-yaml counts the scalar at the end of a path as a level; we count collections.
      maxDepth: lim.maxDepth + 1,
    };
    value = yaml.load(text, options);
  } catch (e) {
    if (isYamlException(e)) throw fromYamlException(e, text, source, lim.maxDepth, opened);
    // A RangeError is the call stack overflowing (a js-yaml without maxDepth, a huge limit).
    throw toAloftError(stackOverflowAsDepth(e, source, lim.maxDepth));
  }

  if (text.indexOf('*') === -1) {
    // No aliases: a plain tree. Only the depth needs checking (js-yaml counts differently).
    if (treeDepth(value) > lim.maxDepth) throw depthError(text, source, lim.maxDepth, -1);
    return value;
  }
  const m = measureTree(value);
  const alias = firstAlias(text);
  if (m.cyclic) {
    throw yamlErrorAt(
      text,
      source,
      alias,
      'a YAML alias refers to the node that contains it (infinite expansion)',
      'an alias (*name) may only refer to an anchor (&name) that is complete before it',
    );
  }
  const allowed = expansionAllowance(m.unique, lim.maxAliasExpansion);
  if (m.expanded > allowed) {
    throw yamlErrorAt(
      text,
      source,
      alias,
      `YAML aliases expand to more than ${allowed} nodes (possible alias bomb)`,
      'write the repeated content out, or raise the maxAliasExpansion limit',
    );
  }
  if (m.depth > lim.maxDepth) throw depthError(text, source, lim.maxDepth, alias);
  return value;
}

function depthError(text: string, source: string, maxDepth: number, pos: number): AloftError {
  const { message, hint } = depthMessage(maxDepth);
  return pos < 0
    ? yamlError(source, 1, 1, message, hint)
    : yamlErrorAt(text, source, pos, message, hint);
}

/** Offset of the first alias (`*name` where a node can start), for error positions. */
function firstAlias(text: string): number {
  const m = /(?:^|[\s[{,:-])\*[^\s,[\]{}]/.exec(text);
  if (m === null) return 0;
  return m.index + m[0].indexOf('*');
}
