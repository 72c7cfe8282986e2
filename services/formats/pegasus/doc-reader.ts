/**
 * The reading context shared by the Pegasus converters: where we are in a document (a key
 * path rendered only when something is wrong), the problems and warnings collected so far,
 * and lenient, type-checked accessors for the scalars, maps and lists of a parsed YAML/JSON
 * tree.
 *
 * Leniency contract (Pegasus' own planner reads YAML scalars as strings):
 * - scalars arrive as strings from the YAML loader, or as numbers/booleans from JSON; all are
 *   accepted where a scalar is expected and normalised to the type the model wants;
 * - `null` (an empty value, `key:`) is the same as an absent key;
 * - `x-*` keys are ignored everywhere; keys the Pegasus schema knows but aloft does not use
 *   (hooks, grids, ...) are ignored silently; any other key is ignored with a warning;
 * - a wrong TYPE (a map where a list belongs, a list where text belongs, ...) is a Problem.
 * Every string value goes through `${VAR}` expansion (see expand-env.ts).
 */
import type { Problem } from '../../../lib/errors/index.js';
import { parseByteSize } from '../../model/byte-size.js';
import { nameHint, validateName, type NameKind } from '../../model/names.js';
import { expandVars } from './expand-env.js';

export type YamlMap = Record<string, unknown>;

/** A key (map key or list index) below a KeyPath, resolved only when a message needs it. */
export type Key = string | number | undefined;

/**
 * A key path inside a document, rendered only when something is wrong. Accessors take the
 * path of the enclosing object plus the key, so reading a large workflow allocates one
 * path per job and per list entry, not one per scalar.
 */
export class KeyPath {
  private constructor(
    private readonly parent: KeyPath | undefined,
    private readonly segment: string | number,
    /** What the enclosing object is, for humans: `job ID0000004`, `site local`. */
    private readonly labelKind: string | undefined,
    private readonly labelName: unknown,
  ) {}

  static root(): KeyPath {
    return new KeyPath(undefined, '', undefined, undefined);
  }

  key(k: string): KeyPath {
    return new KeyPath(this, k, this.labelKind, this.labelName);
  }

  index(i: number): KeyPath {
    return new KeyPath(this, i, this.labelKind, this.labelName);
  }

  /** The path one key below, or this path when `k` is undefined. */
  child(k: Key): KeyPath {
    return k === undefined ? this : typeof k === 'number' ? this.index(k) : this.key(k);
  }

  /** The same path, labelled `kind name` (shown for this path and below it). */
  labelled(kind: string, name: unknown): KeyPath {
    return new KeyPath(this.parent, this.segment, kind, name);
  }

  get label(): string | undefined {
    return this.labelKind === undefined ? undefined : `${this.labelKind} ${String(this.labelName)}`;
  }

  toString(): string {
    const s = this.segment;
    if (this.parent === undefined) return '';
    const head = this.parent.toString();
    if (typeof s === 'number') return `${head}[${s}]`;
    return head === '' ? s : `${head}.${s}`;
  }
}

export class DocReader {
  constructor(
    readonly source: string,
    readonly env: NodeJS.ProcessEnv,
    readonly problems: Problem[] = [],
    readonly warnings: string[] = [],
    /**
     * The document was parsed for this read and nothing else holds it: lists of plain
     * strings (job arguments, dependency children) and dependency entries that need no
     * conversion may become part of the model as they are, instead of being copied. False
     * for documents a caller passes in (the model must not share their objects).
     */
    readonly ownsDocument = false,
  ) {}

  where(at: KeyPath, key?: Key): string {
    const p = at.child(key);
    const path = p.toString();
    const label = p.label === undefined ? '' : ` (${p.label})`;
    return path === '' ? `${this.source}${label}` : `${this.source}: ${path}${label}`;
  }

  problem(at: KeyPath, key: Key, message: string, hint?: string): void {
    const where = this.where(at, key);
    this.problems.push(hint === undefined ? { where, message } : { where, message, hint });
  }

  warn(at: KeyPath, key: Key, message: string): void {
    this.warnings.push(`${this.where(at, key)}: ${message}`);
  }

  /** Warn about keys that are neither known (used or deliberately ignored) nor `x-*`. */
  checkKeys(obj: YamlMap, known: ReadonlySet<string>, at: KeyPath, what: string): void {
    for (const k in obj) {
      if (known.has(k) || k.startsWith('x-')) continue;
      this.warn(at, k, `unknown key in ${what}, ignored`);
    }
  }

  /** A map, or undefined when absent/null; a problem when it is something else. */
  map(v: unknown, at: KeyPath, key: Key, what = 'a map of keys and values'): YamlMap | undefined {
    if (v === undefined || v === null) return undefined;
    if (isMap(v)) return v;
    this.problem(at, key, `must be ${what}, not ${describe(v)}`);
    return undefined;
  }

  /** A list, or undefined when absent/null; a problem when it is something else. */
  list(v: unknown, at: KeyPath, key: Key, hint?: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v;
    this.problem(at, key, `must be a list, not ${describe(v)}`, hint);
    return undefined;
  }

  /** A required value: a problem when absent or null. */
  required(obj: YamlMap, key: string, at: KeyPath, what: string): unknown {
    const v = obj[key];
    if (v === undefined || v === null) {
      this.problem(at, key, `missing required key '${key}' in ${what}`);
      return undefined;
    }
    return v;
  }

  /** A scalar as a string (numbers and booleans converted), `${VAR}`-expanded. */
  string(v: unknown, at: KeyPath, key?: Key): string | undefined {
    if (typeof v === 'string') return v.includes('${') ? this.expand(v, at, key) : v;
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.problem(at, key, `must be a single value (text or number), not ${describe(v)}`);
    return undefined;
  }

  /** A string that must be a valid name of `kind` (job id, lfn, site name, ...). */
  name(v: unknown, at: KeyPath, key: Key, kind: NameKind): string | undefined {
    const s = this.string(v, at, key);
    if (s === undefined) return undefined;
    const bad = validateName(kind, s);
    if (bad !== undefined) {
      this.problem(at, key, bad, nameHint(kind));
      return undefined;
    }
    return s;
  }

  /** A boolean: true/false (any case), yes/no, on/off, or a JSON boolean. */
  bool(v: unknown, at: KeyPath, key?: Key): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string') {
      const b = v === 'true' ? true : v === 'false' ? false : BOOLEANS.get(v.toLowerCase());
      if (b !== undefined) return b;
    }
    this.problem(at, key, `must be true or false, not ${describeValue(v)}`);
    return undefined;
  }

  /**
   * A size in bytes: a non-negative integer, optionally with a binary unit (`2048`, `10MB`,
   * `1.5 GiB`, `4k`; K/M/G/T/P = 1024^n, with or without `B`/`iB`). Fractions round up.
   * `alreadyExpanded`: the text went through `${VAR}` expansion before (metadata values).
   */
  size(v: unknown, at: KeyPath, key?: Key, alreadyExpanded = false): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') {
      if (Number.isFinite(v) && v >= 0) return Math.ceil(v);
    } else if (typeof v === 'string') {
      const n = parseByteSize(alreadyExpanded ? v : this.expand(v, at, key));
      if (n !== undefined) return n;
    }
    this.problem(
      at,
      key,
      `must be a size in bytes, not ${describeValue(v)}`,
      "write a whole number of bytes such as 2048, or a size with a unit such as '10MB'",
    );
    return undefined;
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(v: unknown, at: KeyPath, key: Key, allowed: readonly T[]): T | undefined {
    const s = this.string(v, at, key);
    if (s === undefined) return undefined;
    if ((allowed as readonly string[]).includes(s)) return s as T;
    this.problem(at, key, `${JSON.stringify(s)} is not one of ${allowed.join(', ')}`);
    return undefined;
  }

  /** `${VAR}` expansion with a problem for an unset variable. */
  expand(text: string, at: KeyPath, key?: Key): string {
    if (!text.includes('${')) return text;
    return expandVars(text, this.env, (name) =>
      this.problem(
        at,
        key,
        `environment variable '${name}' is not set (used as \${${name}})`,
        `set ${name} in the environment, or write $\${${name}} for a literal '\${${name}}'`,
      ),
    );
  }
}

const BOOLEANS = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['yes', true],
  ['no', false],
  ['on', true],
  ['off', false],
]);

/** Set an own data property, even for a key named `__proto__` (never touch the prototype). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else obj[key] = value;
}

export function isMap(v: unknown): v is YamlMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return describeValue(v);
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return describe(v);
}
