/**
 * stringifyYaml: the YAML writer for aloft's own output (the TypeScript authoring API writes
 * workflows with it). Block style with two-space indentation, keys in the order given,
 * short lists of scalars in flow style (`arguments: [-a, preprocess, -T10]`), strings
 * quoted only when needed. "Needed" is judged for every YAML reader, not only ours: a
 * string that another reader (PyYAML, Pegasus' planner) would take as a number, boolean,
 * null or date — `1`, `4.0`, `true`, `no`, `~`, `2024-01-01` — is always quoted, so the
 * file means the same everywhere.
 *
 * Contract: `parseYaml(stringifyYaml(x))` deep-equals `x` for any tree of strings, arrays,
 * plain objects and null. Numbers and booleans are written plain (`1`, `true`) and so read
 * back as strings; `undefined` members of objects are left out, in arrays they become null.
 */
import { AloftError } from '../../../lib/errors/index.js';

const FLOW_WIDTH = 80;

export function stringifyYaml(value: unknown): string {
  try {
    return write(value);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw AloftError.invalid({
      where: '$',
      message: 'nested too deeply to write as YAML (the call stack overflowed)',
      hint: 'flatten the data',
    });
  }
}

function write(value: unknown): string {
  const w = new Writer();
  if (isCollection(value)) {
    if (isEmpty(value)) return Array.isArray(value) ? '[]\n' : '{}\n';
    w.collection(value, '', '$');
    return anchorTrailingNulls(w.out).join('\n') + '\n';
  }
  if (value === null || value === undefined) return '---\n'; // an empty document is null
  return w.scalar(value, '$', false) + '\n';
}

type Collection = unknown[] | Record<string, unknown>;

function isCollection(v: unknown): v is Collection {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isEmpty(v: Collection): boolean {
  if (Array.isArray(v)) return v.length === 0;
  for (const k in v) if (Object.hasOwn(v, k) && v[k] !== undefined) return false;
  return true;
}

class Writer {
  readonly out: string[] = [];
  private readonly open = new Set<object>();

  /** Lines of a non-empty block collection, every line starting with `ind`. */
  collection(v: Collection, ind: string, path: string): void {
    if (this.open.has(v)) {
      throw AloftError.invalid({
        where: path,
        message: 'contains itself (a cycle) and cannot be written as YAML',
      });
    }
    this.open.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++)
        this.entry(`${ind}-`, v[i] ?? null, ind, `${path}[${i}]`, true);
    } else {
      for (const k of Object.keys(v)) {
        const item = v[k];
        if (item === undefined) continue;
        this.entry(`${ind}${this.key(k, `${path}.${k}`)}:`, item, ind, `${path}.${k}`, false);
      }
    }
    this.open.delete(v);
  }

  /**
   * One `key:` or `-` entry; `head` is the line so far. Nested collections go on the next
   * lines indented by two; in a sequence a nested collection starts on the `-` line.
   */
  private entry(head: string, v: unknown, ind: string, path: string, inSeq: boolean): void {
    if (v === null) {
      this.out.push(head);
      return;
    }
    if (!isCollection(v)) {
      this.out.push(`${head} ${this.scalar(v, path, false)}`);
      return;
    }
    if (isEmpty(v)) {
      this.out.push(`${head} ${Array.isArray(v) ? '[]' : '{}'}`);
      return;
    }
    if (Array.isArray(v)) {
      const flow = this.flow(v, path);
      if (flow !== undefined && head.length + 1 + flow.length <= FLOW_WIDTH + ind.length) {
        this.out.push(`${head} ${flow}`);
        return;
      }
    }
    const inner = `${ind}  `;
    if (!inSeq) {
      this.out.push(head);
      this.collection(v, inner, path);
      return;
    }
    // `- key: v` / `- - x`: the first nested line shares the `-` line.
    const first = this.out.length;
    this.collection(v, inner, path);
    this.out[first] = `${head} ${this.out[first]!.slice(inner.length)}`;
  }

  /** `[a, b, c]` when every item is a scalar (not null) and the result is short. */
  private flow(v: unknown[], path: string): string | undefined {
    const parts: string[] = [];
    let len = 2;
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      if (item === null || item === undefined || typeof item === 'object') return undefined;
      const s = this.scalar(item, `${path}[${i}]`, true);
      len += s.length + 2;
      if (len > FLOW_WIDTH) return undefined;
      parts.push(s);
    }
    return `[${parts.join(', ')}]`;
  }

  private key(k: string, path: string): string {
    return this.scalar(k, path, false);
  }

  scalar(v: unknown, path: string, inFlow: boolean): string {
    switch (typeof v) {
      case 'string':
        return (inFlow ? plainInFlow(v) : plainInBlock(v)) ? v : quote(v);
      case 'number':
        if (!Number.isFinite(v)) {
          throw AloftError.invalid({
            where: path,
            message: `${v} cannot be written as YAML`,
            hint: 'use a finite number or a string',
          });
        }
        return String(v);
      case 'boolean':
      case 'bigint':
        return String(v);
      default:
        throw AloftError.invalid({
          where: path,
          message: `${describe(v)} cannot be written as YAML`,
          hint: 'use strings, numbers, booleans, null, arrays and plain objects',
        });
    }
  }
}

/** Strings another YAML reader would resolve to a non-string (YAML 1.1 and 1.2 core). */
const LOOKS_TYPED =
  /^(?:[-+]?\.?[0-9]|[-+]?\.(?:inf|Inf|INF)$|\.(?:nan|NaN|NAN)$|(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N|=|<<)$)/;
/** Characters allowed in plain scalars we write (printable, no tab, no BOM, no surrogates). */
const PLAIN_CHARS = /^[\x20-\x7E\u00A0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD]+$/;

function plainInBlock(s: string): boolean {
  if (s.length === 0 || !PLAIN_CHARS.test(s)) return false;
  const c0 = s.charCodeAt(0);
  const last = s.charCodeAt(s.length - 1);
  if (c0 === 32 || last === 32) return false;
  // Indicators that cannot start a plain scalar; `-` may when it is not followed by a space.
  if ('?:,[]{}#&*!|>\'"%@`'.includes(s[0]!)) return false;
  if (c0 === 45 /* - */ && (s.length === 1 || s.charCodeAt(1) === 32)) return false;
  if (s.startsWith('---') || s.startsWith('...')) return false;
  if (s.includes(': ') || s.includes(' #') || last === 58 /* : */) return false;
  return !LOOKS_TYPED.test(s);
}

function plainInFlow(s: string): boolean {
  return plainInBlock(s) && !/[,[\]{}:]/.test(s);
}

/** Double-quoted: JSON's escapes are YAML's; also escape what YAML readers treat specially. */
function quote(s: string): string {
  return JSON.stringify(s).replace(
    /[\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function describe(v: unknown): string {
  if (typeof v !== 'object' || v === null) return `a ${typeof v}`;
  const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor
    ?.name;
  return `a ${name ?? 'object'}`;
}

/**
 * js-yaml (and so parseYaml) reads a `- ` line that follows an empty item as one more item
 * of the *same* sequence, whatever its indentation. An empty last item of a nested list
 * followed by the outer list's next item would change the tree, so such an item is written
 * as an anchored empty node (`- &null1`), which every YAML reader takes as null.
 */
function anchorTrailingNulls(lines: string[]): string[] {
  let n = 0;
  for (let i = 0; i + 1 < lines.length; i++) {
    const m = /^( *(?:- )*)-$/.exec(lines[i]!); // `-`, or `- - -` (compact nesting)
    if (m === null) continue;
    const next = /^( *)-(?: |$)/.exec(lines[i + 1]!);
    if (next !== null && next[1]!.length < m[1]!.length) lines[i] = `${lines[i]} &null${++n}`;
  }
  return lines;
}
