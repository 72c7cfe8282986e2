/**
 * parseYaml gives exactly js-yaml FAILSAFE's result (or an error exactly when js-yaml
 * errs): on every Pegasus fixture, on a seeded random corpus of documents in the styles
 * people and PyYAML write, on hand-picked js-yaml corner cases, and on randomly damaged
 * documents. The common documents must be read by the fast path.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { isAloftError } from '../../../lib/errors/index.js';
import { SHARED } from '../../../test/helpers/cli.js';
import { parseYaml, parseYamlFast, type YamlParseStats } from './index.js';

const PEGASUS = path.join(SHARED, 'workflows', 'pegasus');
/** How many damaged documents to try (raise it to fuzz longer: ALOFT_YAML_FUZZ=200000). */
const DAMAGED_DOCUMENTS = Number(process.env.ALOFT_YAML_FUZZ ?? 6000);

/** What js-yaml FAILSAFE says: the value, or that it is an error. */
function oracle(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA }) };
  } catch (e) {
    return { ok: false, reason: (e as { reason?: string }).reason ?? String(e) };
  }
}

/** JSON input is read by JSON.parse (numbers via String(n), null stays null): by design. */
function jsonExpectation(text: string): { value: unknown } | undefined {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return { value: stringsOnly(JSON.parse(text.replace(/^\uFEFF/, ''))) };
  } catch {
    return undefined;
  }
}

function stringsOnly(v: unknown): unknown {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(stringsOnly);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      Object.defineProperty(o, k, {
        value: stringsOnly(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return o;
  }
  return v;
}

/**
 * Strict structural equality for parsed trees: same kinds (array / plain object with
 * Object.prototype / string / null), same own keys, equal leaves. (vitest's toStrictEqual
 * reads `.constructor`, which is data when a document has a `constructor` key.)
 */
function sameTree(a: unknown, b: unknown): boolean {
  if (a === null || typeof a !== 'object' || b === null || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    const da = Object.getOwnPropertyDescriptor(a, k)?.value as unknown;
    const db = Object.getOwnPropertyDescriptor(b, k)?.value as unknown;
    if (!sameTree(da, db)) return false;
  }
  return true;
}

function expectSameTree(got: unknown, want: unknown, context: string): void {
  if (!sameTree(got, want)) expect(got, context).toEqual(want); // a readable diff
  expect(sameTree(got, want), context).toBe(true);
}

function isCyclic(v: unknown, open = new Set<object>()): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (open.has(v)) return true;
  open.add(v);
  const cyclic = Object.values(v).some((x) => isCyclic(x, open));
  open.delete(v);
  return cyclic;
}

/** Same outcome as js-yaml: equal values, or both errors (ours an AloftError with a line). */
function expectSameAsJsYaml(text: string, stats?: YamlParseStats): void {
  const want = oracle(text);
  let got: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    got = { ok: true, value: parseYaml(text, 'doc.yml', undefined, stats) };
  } catch (e) {
    got = { ok: false, error: e };
  }
  const json = jsonExpectation(text);
  if (json !== undefined) {
    if (!got.ok) throw new Error(`JSON ${JSON.stringify(text)} threw: ${String(got.error)}`);
    expectSameTree(got.value, json.value, JSON.stringify(text));
    return;
  }
  if (want.ok && isCyclic(want.value)) {
    // js-yaml builds a cyclic object for an alias inside its own anchor; we refuse it.
    expect(got.ok).toBe(false);
    if (!got.ok) expect(String(got.error)).toMatch(/refers to the node that contains it/);
    return;
  }
  if (want.ok) {
    if (!got.ok)
      throw new Error(`js-yaml parses ${JSON.stringify(text)} but we threw: ${String(got.error)}`);
    expectSameTree(got.value, want.value, JSON.stringify(text));
  } else {
    if (got.ok) {
      throw new Error(
        `js-yaml rejects ${JSON.stringify(text)} (${want.reason}) but we returned ${JSON.stringify(got.value)}`,
      );
    }
    expect(isAloftError(got.error), String(got.error)).toBe(true);
    if (isAloftError(got.error)) {
      expect(got.error.code).toBe('INVALID_ARGUMENT');
      expect(got.error.problems[0]?.where).toMatch(/^doc\.yml:\d+:\d+$/);
    }
  }
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) ? [p] : [];
  });
}

describe.skipIf(!existsSync(PEGASUS))('Pegasus fixtures', () => {
  const files = existsSync(PEGASUS) ? yamlFiles(PEGASUS) : [];
  it('finds the fixtures', () => {
    expect(files.length).toBeGreaterThan(20);
  });
  for (const file of files) {
    it(`${path.relative(PEGASUS, file)} equals js-yaml FAILSAFE, on the fast path`, () => {
      const text = readFileSync(file, 'utf8');
      const stats: YamlParseStats = {};
      expectSameTree(
        parseYaml(text, file, undefined, stats),
        yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA }),
        file,
      );
      expect(stats.fallbackReason).toBeUndefined();
      expect(stats.path).toBe('fast');
    });
  }
});

// ---------------------------------------------------------------------------------------
// Seeded random corpus

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Words a plain scalar may be (block and flow). Several look typed; FAILSAFE keeps strings. */
const PLAIN = [
  'foo',
  'f.b2',
  '-T10',
  '-a',
  'ID0000001',
  'preprocess',
  'true',
  'false',
  'null',
  '~',
  '1',
  '1.10',
  '4.0',
  '0x1F',
  '.inf',
  'yes',
  '2024-01-01',
  'http://pegasus.isi.edu/x?y=z',
  'file:///lfs/f.a',
  '/path/to/keg',
  'a#b',
  'a:b',
  'x-y_z',
  'ünïcödé',
  '日本語',
  'emoji😀',
  '--',
  '?x',
  'C:\\dir',
  'a=b',
  '<<',
  'a"b',
  "it's",
  '%d',
  '@x',
  '`x`',
  'a|b',
  '-',
  '.',
].filter((w) => w !== '-' && w !== '%d' && w !== '@x' && w !== '`x`');
/** Plain in block context only (flow indicators inside). */
const PLAIN_BLOCK_ONLY = ['a,b', 'x[1]', 'm{n}', 'a, b c', 'f(x, y)'];
/** Strings that must be quoted. */
const NEEDS_QUOTES = [
  '',
  ' lead',
  'trail ',
  'a: b',
  'a #b',
  '#x',
  '- x',
  '[x]',
  '{y}',
  '@at',
  '`tick',
  '%pct',
  '&amp',
  '*star',
  '!bang',
  '|pipe',
  '>gt',
  '? q',
  ': c',
  '---',
  '...',
  'multi\nline',
  'tab\there',
  'quote"s',
  "it's",
  'back\\slash',
  'nul\u0001x',
  'bell\u0007',
  'nel\u0085x',
  'ls\u2028x',
  'bom\uFEFFx',
  'a\r\nb',
  '  ',
  '\t',
];

interface Gen {
  r: () => number;
  crlf: boolean;
  exotic: boolean;
}

function pick<T>(g: Gen, xs: readonly T[]): T {
  return xs[Math.floor(g.r() * xs.length)]!;
}

function dq(s: string, g: Gen): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += g.r() < 0.5 ? '\\t' : '\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x85 || c === 0x2028 || c === 0xfeff) {
      const hex = c.toString(16);
      out += c < 256 && g.r() < 0.5 ? `\\x${hex.padStart(2, '0')}` : `\\u${hex.padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

function sq(s: string): string | undefined {
  // Single quotes cannot escape line breaks or control characters.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f-\x9f\u2028\ufeff]/.test(s)) return undefined;
  return `'${s.replace(/'/g, "''")}'`;
}

function plainWords(s: string, inFlow: boolean): boolean {
  return s.split(' ').every((w) => PLAIN.includes(w) || (!inFlow && PLAIN_BLOCK_ONLY.includes(w)));
}

function scalarText(s: string, g: Gen, inFlow: boolean): string {
  const plainOk = plainWords(s, inFlow);
  const roll = g.r();
  if (plainOk && roll < 0.7) return s;
  const single = sq(s);
  if (single !== undefined && roll < 0.85) return single;
  return dq(s, g);
}

function randomScalar(g: Gen, inFlow: boolean): string {
  const roll = g.r();
  if (roll < 0.6) return pick(g, PLAIN);
  if (roll < 0.7 && !inFlow) return pick(g, PLAIN_BLOCK_ONLY);
  if (roll < 0.8) return `${pick(g, PLAIN)} ${pick(g, PLAIN)}`.replace(/ #| :|: /g, ' ');
  return pick(g, NEEDS_QUOTES);
}

type Tree = string | null | Tree[] | { [k: string]: Tree };

function randomTree(g: Gen, depth: number, inFlow = false): Tree {
  const roll = g.r();
  if (depth <= 0 || roll < 0.35) return g.r() < 0.08 && !inFlow ? null : randomScalar(g, inFlow);
  if (roll < 0.65) {
    const n = Math.floor(g.r() * 4) + (inFlow ? 0 : 1);
    const o: { [k: string]: Tree } = {};
    for (let i = 0; i < n; i++) {
      // defineProperty: a `__proto__` key must become a key, not the prototype.
      Object.defineProperty(o, randomKey(g), {
        value: randomTree(g, depth - 1, inFlow),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return o;
  }
  const n = Math.floor(g.r() * 4) + (inFlow ? 0 : 1);
  return Array.from({ length: n }, () => randomTree(g, depth - 1, inFlow));
}

function randomKey(g: Gen): string {
  const roll = g.r();
  if (roll < 0.75)
    return pick(g, [
      'id',
      'name',
      'type',
      'lfn',
      'arguments',
      'uses',
      'stageOut',
      'pfn',
      'site',
      'os.type',
      'x-aloft',
      '__proto__',
      'toString',
      'a b',
      '1',
      'true',
    ]);
  if (roll < 0.9) return pick(g, PLAIN);
  return pick(g, ['key: x', '#k', '', 'k"q', "k'q", '[k]', '- k']);
}

function comment(g: Gen): string {
  return g.r() < 0.15
    ? ` ${' '.repeat(Math.floor(g.r() * 3))}# c${pick(g, ['', ' : x', ' - y', ' "q', " 'q", ' [z'])}`
    : '';
}

function trailing(g: Gen): string {
  const r = g.r();
  return r < 0.1 ? '   ' : r < 0.15 ? ' \t' : '';
}

function blankOrCommentLines(g: Gen, indent: string): string[] {
  const out: string[] = [];
  while (g.r() < 0.12) {
    const r = g.r();
    out.push(r < 0.4 ? '' : r < 0.6 ? '   ' : `${r < 0.8 ? indent : ''}# note: ${pick(g, PLAIN)}`);
  }
  return out;
}

/** A flow rendering of a tree (no nulls inside flow: they are not always writable). */
function flowText(t: Tree, g: Gen, depth: number): string {
  if (t === null) return '""';
  if (typeof t === 'string') return scalarText(t, g, true);
  const sep = g.r() < 0.2 ? `,\n${'  '.repeat(depth + 1)}` : pick(g, [', ', ',', ' , ']);
  if (Array.isArray(t))
    return `[${t.map((x) => flowText(x, g, depth + 1)).join(sep)}${g.r() < 0.1 && t.length ? ',' : ''}]`;
  const entries = Object.entries(t).map(
    ([k, v]) => `${scalarText(k, g, true)}: ${flowText(v, g, depth + 1)}`,
  );
  return `{${entries.join(sep)}}`;
}

function isScalar(t: Tree): t is string | null {
  return t === null || typeof t === 'string';
}

/** Block rendering: lines at `indent` for a collection. */
function blockLines(t: Tree[] | { [k: string]: Tree }, g: Gen, indent: string): string[] {
  const lines: string[] = [];
  const inner = indent + pick(g, ['  ', '  ', '    ', ' ']);
  if (Array.isArray(t)) {
    for (let i = 0; i < t.length; i++) {
      // An empty last item would let js-yaml read a dedented `- ` line as a further item.
      const item = t[i] === null && i === t.length - 1 ? '' : t[i]!;
      lines.push(...blankOrCommentLines(g, indent));
      const dash = `${indent}-${pick(g, [' ', ' ', '   '])}`;
      if (isScalar(item)) {
        lines.push(
          item === null
            ? `${indent}-${comment(g)}`
            : `${dash}${scalarValue(item, g, dash.length)}${trailing(g)}${comment(g)}`,
        );
      } else if (
        g.r() < 0.2 ||
        (Array.isArray(item) ? item.length === 0 : Object.keys(item).length === 0)
      ) {
        lines.push(`${dash}${flowText(item, g, 0)}${comment(g)}`);
      } else if (g.r() < 0.7) {
        // Compact: `- key: v` / `- - x` on the dash line, the rest aligned under it.
        const pad = ' '.repeat(dash.length);
        const sub = blockLines(item, g, pad);
        const first = sub.findIndex(
          (l) => l.startsWith(pad) && l.trim() !== '' && !l.trim().startsWith('#'),
        );
        if (first < 0) lines.push(`${dash}${flowText(item, g, 0)}`);
        else {
          lines.push(
            ...sub.slice(0, first),
            dash + sub[first]!.slice(pad.length),
            ...sub.slice(first + 1),
          );
        }
      } else {
        lines.push(`${indent}-${comment(g)}`, ...blockLines(item, g, inner));
      }
    }
    return lines;
  }
  for (const [k, v] of Object.entries(t)) {
    lines.push(...blankOrCommentLines(g, indent));
    const key = `${indent}${scalarText(k, g, false)}${g.r() < 0.05 ? '  ' : ''}:`;
    if (v === null) lines.push(`${key}${trailing(g)}${comment(g)}`);
    else if (typeof v === 'string')
      lines.push(
        `${key}${pick(g, [' ', ' ', '   ', '\t'])}${scalarValue(v, g, indent.length + 1)}${trailing(g)}${comment(g)}`,
      );
    else if (g.r() < 0.25 || (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0)) {
      lines.push(`${key} ${flowText(v, g, indent.length / 2)}${comment(g)}`);
    } else {
      // PyYAML writes sequences under a key without indenting them.
      const sub = Array.isArray(v) && g.r() < 0.5 ? indent : inner;
      lines.push(`${key}${comment(g)}`, ...blockLines(v, g, sub));
    }
  }
  return lines;
}

/** A scalar value in block context, sometimes folded over several lines. */
function scalarValue(s: string, g: Gen, minIndent: number): string {
  const words = s.split(' ');
  if (words.length > 1 && plainWords(s, false) && g.r() < 0.3) {
    const cont = ' '.repeat(minIndent + 1 + Math.floor(g.r() * 3));
    return words.join(g.r() < 0.5 ? `\n${cont}` : `\n\n${cont}`);
  }
  if (s.includes(' ') && /^[^"\\\n]*$/.test(s) && g.r() < 0.15) {
    // A double-quoted scalar folded over lines.
    return `"${s.split(' ').join(`\n${' '.repeat(minIndent + 1)}`)}"`;
  }
  return scalarText(s, g, false);
}

function renderDocument(g: Gen): string {
  const tree = randomTree(g, 4);
  let lines: string[];
  if (isScalar(tree) || g.r() < 0.1) {
    lines = [isScalar(tree) ? scalarText(tree ?? 'x', g, false) : flowText(tree, g, 0)];
  } else {
    lines = blockLines(tree, g, '');
  }
  if (g.exotic) lines = exotify(lines, g);
  if (g.r() < 0.2) lines.unshift(pick(g, ['---', '--- # doc', '# header', '']));
  if (g.r() < 0.1) lines.push('...');
  let text = lines.join('\n') + (g.r() < 0.9 ? '\n' : '');
  if (g.crlf) text = text.replace(/\n/g, '\r\n');
  if (g.r() < 0.05) text = `\uFEFF${text}`;
  return text;
}

/** Add features outside the fast path: anchors/aliases, block scalars, tags, explicit keys. */
function exotify(lines: string[], g: Gen): string[] {
  const out = [...lines];
  const i = Math.floor(g.r() * out.length);
  const feature = pick(g, ['anchor', 'block', 'tag', 'explicit', 'flowpair']);
  if (feature === 'anchor') out.push('anchored: &a [x, y]', 'alias: *a');
  else if (feature === 'block')
    out.push('text: |', '  line one', '   line two', '', 'folded: >-', '  a', '  b');
  else if (feature === 'tag') out.push('tagged: !!str 42');
  else if (feature === 'explicit') out.push('? complex key', ': value');
  else out.splice(i, 0, out[i] ?? '');
  return out;
}

describe('generated corpus', () => {
  it('common documents: same as js-yaml, all on the fast path', () => {
    let fast = 0;
    let total = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const g: Gen = { r: rng(seed), crlf: seed % 7 === 0, exotic: false };
      const text = renderDocument(g);
      const want = oracle(text);
      if (!want.ok)
        throw new Error(`generator wrote invalid YAML (seed ${seed}): ${want.reason}\n${text}`);
      const stats: YamlParseStats = {};
      expectSameAsJsYaml(text, stats);
      total++;
      if (stats.path === 'fast' || stats.path === 'json') fast++;
      else throw new Error(`seed ${seed} left the fast path (${stats.fallbackReason}):\n${text}`);
    }
    expect(fast).toBe(total);
  });

  it('documents with anchors, block scalars, tags, explicit keys: same as js-yaml', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const g: Gen = { r: rng(100_000 + seed), crlf: seed % 5 === 0, exotic: true };
      expectSameAsJsYaml(renderDocument(g));
    }
  });

  it('randomly damaged documents: same value or an error exactly when js-yaml errs', () => {
    const edits = [
      ' ',
      '  ',
      '\n',
      '\t',
      ':',
      ': ',
      '-',
      '- ',
      '#',
      ' #',
      '"',
      "'",
      '[',
      ']',
      '{',
      '}',
      ',',
      '?',
      '|',
      '&',
      '*',
      '!',
      '\\',
      '---\n',
      '\r',
    ];
    const outcomes = { fast: 0, jsYaml: 0, error: 0 };
    for (let seed = 1; seed <= DAMAGED_DOCUMENTS; seed++) {
      const g: Gen = { r: rng(200_000 + seed), crlf: seed % 9 === 0, exotic: false };
      let text = renderDocument(g);
      const n = 1 + Math.floor(g.r() * 3);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(g.r() * (text.length + 1));
        const r = g.r();
        if (r < 0.4) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(g.r() * 3));
        else text = text.slice(0, at) + pick(g, edits) + text.slice(at);
      }
      const stats: YamlParseStats = {};
      expectSameAsJsYaml(text, stats);
      if (!oracle(text).ok) outcomes.error++;
      else if (stats.path === 'fast') outcomes.fast++;
      else outcomes.jsYaml++;
    }
    // Both sides of the fence are exercised: damage the fast path reads on its own (it must
    // agree), and damage that only js-yaml can judge (mostly errors).
    expect(outcomes.fast).toBeGreaterThan(DAMAGED_DOCUMENTS / 4);
    expect(outcomes.error).toBeGreaterThan(DAMAGED_DOCUMENTS / 4);
  });
});

/** Pieces that make line-shaped YAML: indentation, keys, dashes, values, breaks. */
const LINE_PIECES = [
  '\n',
  '\n',
  '\n',
  '\n  ',
  '\n    ',
  '\n ',
  '\n\t',
  '\r\n',
  'a: ',
  'b: ',
  'a:',
  '- ',
  '- ',
  '-\n',
  'x',
  'y z',
  '"q"',
  "'s'",
  '"q\n r"',
  '[x, y]',
  '{k: v}',
  '[',
  ']',
  '{',
  '}',
  ', ',
  ' # c',
  '#',
  ': ',
  ' ',
  '  ',
  '\t',
  '?',
  '&a ',
  '*a',
  '|',
  '---',
  '...',
  '\\n',
  'é',
];

describe('token soup', () => {
  it('short random strings of YAML-significant characters: same outcome as js-yaml', () => {
    const alphabet = [
      'a',
      'b',
      'x y',
      ' ',
      ' ',
      '  ',
      '\n',
      '\n',
      '\n  ',
      ':',
      ': ',
      '- ',
      '-',
      '#',
      ' #',
      '"',
      "'",
      '[',
      ']',
      '{',
      '}',
      ', ',
      ',',
      '\t',
      '? ',
      '\\',
      '...',
      '---',
      '\r\n',
      '\r',
      '0',
      'é',
      '😀',
    ];
    let fast = 0;
    for (let seed = 1; seed <= DAMAGED_DOCUMENTS * 4; seed++) {
      const r = rng(300_000 + seed);
      // Half short soups of any token, half longer ones built from line-shaped pieces.
      const structured = seed % 2 === 0;
      const tokens = structured ? LINE_PIECES : alphabet;
      const n = 1 + Math.floor(r() * (structured ? 24 : 14));
      let text = '';
      for (let i = 0; i < n; i++) text += tokens[Math.floor(r() * tokens.length)];
      const stats: YamlParseStats = {};
      expectSameAsJsYaml(text, stats);
      if (stats.path === 'fast') fast++;
    }
    expect(fast).toBeGreaterThan(DAMAGED_DOCUMENTS / 2);
  });
});

// ---------------------------------------------------------------------------------------
// Hand-picked corner cases (each one a js-yaml behaviour the fast path must mirror)

const CASES: string[] = [
  'a: 1\n...\n# trailing comment\n',
  'a:\n  - \n- b\n',
  'a: "x"#c\n',
  '[a: b, c]\n',
  '{a:b}\n',
  '{a: , b: }\n',
  '{"a":b}\n',
  '[a, b, ]\n',
  'a: [x,\ny]\nb: 1\n',
  '- \tx\n',
  'key: \tvalue\n',
  'a:\n  x\n  # c\n',
  'a: x\n  b: y\n',
  'a:\n    x\n  y\nb: 1\n',
  '- a\n -b\n',
  'foo\n...\n',
  'foo\nbar\n',
  '"a":b\n',
  'x: "a\\\n\n  b"\n',
  'x: "a \\\n  b"\n',
  "x: 'a''b\n\n  c  \n  d'\n",
  'x: "tab\\\tq \\/ \\x41\\u00e9\\U0001F600\\N\\_\\L\\P\\e\\0"\n',
  '__proto__: 1\n',
  '__proto__: {a: 1}\nb: [{__proto__: x}]\n',
  'a:\n- x\nb: y\n',
  '- a: 1\n  b: 2\n- c\n',
  'a: b # c\n  d\n',
  '---a: 1\n',
  '--- a\n',
  '---\n---\n',
  'a: 1\n---\nb: 2\n',
  '  a: 1\n  b: 2\n',
  '  a: 1\nb: 2\n',
  'a: 1\n\tb: 2\n',
  'a:\n\t- b\n',
  'a: b\n\t# tab-led comment\nc: d\n',
  '- - - x\n    - y\n  - z\n- w\n',
  '-\n  a: 1\n-\n  - b\n',
  'a:\n  -\n  - x\n',
  'a: [b, [c, {d: e}], {f: [g]}]\n',
  'a: [\n  b,\n  c\n]\n',
  'a: [b\n  c, d]\n',
  'a: [b\nc]\n',
  'a: {b\n  c: d}\n',
  'a: [b # comment\n , c]\n',
  'a: [b,#comment\n c]\n',
  'a: [-b, -, c]\n',
  'a: [-b, - c]\n',
  'a: [:b, c:d, "e":f]\n',
  'a: [b: c: d]\n',
  'a: {b: {c: }, d}\n',
  'a: {b: 1, b: 2}\n',
  'a: 1\na: 2\n',
  'a:\n  b: 1\n  b: 2\n',
  '"a": 1\n\'a\': 2\n',
  'a: "unterminated\n',
  "a: 'unterminated\n",
  'a: [1, 2\n',
  'a: {b: 1\n',
  'a: "x\n---\ny"\n',
  'a: "x\n...\ny"\n',
  'a: x\n---\n',
  'a: b: c\n',
  'a: - b\n',
  'a: [b]: c\n',
  '[a]: b\n',
  '{a: b}: c\n',
  '? a\n: b\n',
  ': a\n',
  'a: &x 1\nb: *x\n',
  'a: !!str 1\n',
  'a: |\n  x\n',
  '%YAML 1.2\n---\na: 1\n',
  'a: 1\r\nb:\r\n  - x\r\n  - "y\r\n    z"\r\n',
  'a: 1\rb: 2\r',
  'a: x\r\n  y\r\n',
  'a:    # comment\n  b: c\n',
  'a:   \n  b\n',
  'a:\n# comment at column 0\n  b: c\n',
  'a: x\n\n\n  y\n',
  'a: x  \n   y  \n',
  'a: "x  \n   y  "\n',
  "a: 'x\n\n\n  y'\n",
  'a:b: c\n',
  'a :b\n',
  'a   : b\n',
  'http://x: y\n',
  'a: http://x:8080/p#frag\n',
  'a: x #not a comment?\n',
  'a: x#y\n',
  '- #c\n  x\n',
  '- # c\n- y\n',
  '-\n-\n',
  '- -\n',
  '- - \n',
  'a:\n  - b\n  -\n    c: d\n',
  'a: [b, c]   # trailing\nd: e\n',
  'k: ü\nü: k\n',
  'k: 😀\n',
  'k: \uD800x\n',
  'k: "\uD800x"\n',
  'k: \u0085x\n',
  'k: x\u2028y\n',
  'k: "\u0080"\n',
  'k: \u0080\n',
  'k: \u007F\n',
  'k: x\uFEFFy\n',
  '\uFEFFa: 1\n',
  'a: 1\u0000\n',
  'a\u0001: 1\n',
  '[]\n',
  '{}\n',
  '[1, 2.50, true, null]\n',
  '{"a": [1, {"b": null}], "c": "d"}\n',
  '{"a": 1, "a": 2}\n',
  '[a, b]\n',
  '# only a comment\n',
  '',
  '\n\n',
  '---\n',
  '--- # c\na: 1\n',
  '---\n# c\na: 1\n...\n',
  'a: 1\n... # c\n',
  'a: 1\n...\nb: 2\n',
  'a: 1\n...x\n',
  'a:\n  b:\n    c:\n      d: e\n  f: g\n',
  'a:\n  - b:\n      - c\n    d: e\n',
  'a:\n - b\n - c\n',
  'a:\n   - b\n  - c\n',
  'a:\n  b: c\n d: e\n',
  '-  a: 1\n   b: 2\n-   c\n',
  'a: 1 # c\n# c\n\n  # c\nb: 2\n',
  'a: "q" "r"\n',
  'a: "q"x\n',
  'a: [b]x\n',
  'a: [b] # c\n',
  '"multi\n  line key": v\n',
  '"k"  :  v\n',
  "'k': v\n'': w\n",
  'a: \'\'\nb: ""\n',
  'a: "\\"\\\\"\n',
  'a: "\\q"\n',
  'a: "\\x4"\n',
  'a: "\\uD83D\\uDE00"\n',
  'a: "\\U00110000"\n',
  'a: [!x]\n',
  'a: [&x b, *x]\n',
  'a: [? b]\n',
  'a: {? b}\n',
  'a: [b, c]: d\n',
  'a: [\n---\n]\n',
  'a:\n---\n',
  'x\n  y: z\n',
  'x\ny: z\n',
  '"x"\n',
  '"x": y\nz\n',
  '- "a"\n- \'b\'\n- c\n',
  '- "a\n  b"\n- c\n',
  '- [a]\n- {b: c}\n',
  '- a\n  - b\n',
  '- a\n- b\n  c\n',
  'a: -1\nb: - 1\n',
  'a: ---\nb: ...\n',
  '- ---\n- ...\n',
  'a: b\n -c\n',
  'a: b\n- c\n',
];

describe('js-yaml corner cases', () => {
  for (const text of CASES) {
    it(JSON.stringify(text).slice(0, 60), () => {
      expectSameAsJsYaml(text);
    });
  }

  it('the fast path takes the plain cases and hands over the rest', () => {
    expect(parseYamlFast('a: [b, {c: d}]\n', 'x')).toEqual({ a: ['b', { c: 'd' }] });
    expect(parseYamlFast('- a: 1\n  b: [x, y]\n', 'x')).toEqual([{ a: '1', b: ['x', 'y'] }]);
    for (const text of [
      'a: &x 1\nb: *x\n',
      'a: |\n  x\n',
      'a: !!str 1\n',
      '? a\n: b\n',
      '',
      'a: 1\n---\nb: 2\n',
      'a:\n\t- b\n',
    ]) {
      expect(parseYamlFast(text, 'x'), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('stores __proto__ as an own property without touching the prototype', () => {
    const v = parseYaml('__proto__: {polluted: yes}\nlist: [{__proto__: x}]\n', 'x') as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ polluted: 'yes' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const inner = (v.list as Record<string, unknown>[])[0]!;
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(inner, '__proto__')?.value).toBe('x');
  });
});
