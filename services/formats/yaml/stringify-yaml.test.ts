/**
 * stringifyYaml: round-trips through parseYaml for any tree of strings, arrays, plain
 * objects and null; quotes exactly what other YAML readers would otherwise read as a
 * number, boolean, null or date; writes the block style Pegasus tools write.
 */
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { AloftError } from '../../../lib/errors/index.js';
import { parseYaml, stringifyYaml, type YamlParseStats } from './index.js';

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

const NASTY = [
  '',
  ' ',
  'a',
  'true',
  'True',
  'no',
  'y',
  'null',
  'Null',
  '~',
  '1',
  '-1',
  '+1',
  '0x1F',
  '0o7',
  '1.10',
  '4.0',
  '.5',
  '-.5',
  '.inf',
  '-.Inf',
  '.nan',
  '1e3',
  '1_000',
  '12:30:00',
  '2024-01-01',
  '2001-12-14t21:59:43.10-05:00',
  '<<',
  '=',
  '-',
  '--',
  '---',
  '...',
  '- x',
  '-x',
  '? x',
  '?x',
  ':x',
  'x:',
  'a: b',
  'a:b',
  'a #b',
  'a#b',
  '#a',
  '[a]',
  '{a}',
  'a, b',
  'a,b',
  '&a',
  '*a',
  '!a',
  '|',
  '>',
  "'",
  '"',
  '%',
  '@',
  '`',
  ' lead',
  'trail ',
  'in  side',
  'multi\nline',
  'crlf\r\n',
  'tab\t',
  '\ttab',
  'nul\u0000',
  'bell\u0007',
  'del\u007f',
  'nel\u0085',
  'c1\u0090',
  'ls\u2028',
  'ps\u2029',
  'bom\ufeff',
  '\ufeffbom',
  'nbsp\u00a0',
  'ü',
  '日本語',
  'emoji😀',
  'lone\ud800',
  'lone\udc00x',
  'back\\slash',
  'C:\\dir',
  'http://x.org/a?b=c#d',
  'f.b2',
  '-T60',
  'ID0000001',
  'x-aloft',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'a'.repeat(200),
];

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

type Tree = string | null | Tree[] | { [k: string]: Tree };

/** How many random trees to round-trip (fuzz longer with ALOFT_YAML_FUZZ=200000). */
const TREES = Math.round(Number(process.env.ALOFT_YAML_FUZZ ?? 6000) / 3);

function tree(r: () => number, depth: number): Tree {
  const roll = r();
  if (depth <= 0 || roll < 0.4) return r() < 0.1 ? null : NASTY[Math.floor(r() * NASTY.length)]!;
  const n = Math.floor(r() * 5);
  if (roll < 0.7) {
    const o: { [k: string]: Tree } = {};
    for (let i = 0; i < n; i++) {
      Object.defineProperty(o, NASTY[Math.floor(r() * NASTY.length)]!, {
        value: tree(r, depth - 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return o;
  }
  return Array.from({ length: n }, () => tree(r, depth - 1));
}

describe('stringifyYaml round trip', () => {
  it('parseYaml(stringifyYaml(x)) equals x for random trees of nasty strings', () => {
    const paths = new Set<string>();
    for (let seed = 1; seed <= TREES; seed++) {
      const x = tree(rng(seed), 5);
      const text = stringifyYaml(x);
      const stats: YamlParseStats = {};
      expectSameTree(parseYaml(text, 'out.yml', undefined, stats), x, text);
      paths.add(stats.path!);
      // Plain YAML 1.2 readers with types (js-yaml's default schema) see the same strings.
      expectSameTree(yaml.load(text), x, text);
    }
    // Our own output stays on the fast path unless it contains characters js-yaml must judge.
    expect(paths.has('fast')).toBe(true);
  });

  it('round-trips deep and wide trees, empty collections and a null root', () => {
    let deep: Tree = 'leaf';
    for (let i = 0; i < 300; i++) deep = i % 2 ? [deep] : { k: deep };
    expectSameTree(parseYaml(stringifyYaml(deep), 'x'), deep, 'deep');
    const wide = { list: Array.from({ length: 5000 }, (_, i) => `f${i}.txt`) };
    expectSameTree(parseYaml(stringifyYaml(wide), 'x'), wide, 'wide');
    for (const x of [
      null,
      [],
      {},
      '',
      [[]],
      [{}],
      { a: [] },
      { a: {} },
      [null],
      { a: null },
      [[null]],
    ]) {
      expectSameTree(parseYaml(stringifyYaml(x), 'x'), x, JSON.stringify(x));
    }
  });

  it('writes __proto__ keys as data and reads them back as data', () => {
    const x = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": [{"__proto__": "b"}]}') as object;
    const back = parseYaml(stringifyYaml(x), 'x') as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expectSameTree(back, x, 'proto');
  });
});

describe('stringifyYaml style', () => {
  it('writes a Pegasus workflow the way the Python API does: block style, flow arguments', () => {
    const text = stringifyYaml({
      pegasus: '5.0.4',
      name: 'diamond',
      jobs: [
        {
          type: 'job',
          name: 'preprocess',
          id: 'ID0000001',
          arguments: ['-a', 'preprocess', '-T60', '-i', 'f.a', '-o', 'f.b1', 'f.b2'],
          uses: [
            { lfn: 'f.a', type: 'input' },
            { lfn: 'f.b1', type: 'output', stageOut: true, registerReplica: false },
          ],
        },
      ],
    });
    expect(text).toBe(
      [
        'pegasus: "5.0.4"',
        'name: diamond',
        'jobs:',
        '  - type: job',
        '    name: preprocess',
        '    id: ID0000001',
        '    arguments: [-a, preprocess, -T60, -i, f.a, -o, f.b1, f.b2]',
        '    uses:',
        '      - lfn: f.a',
        '        type: input',
        '      - lfn: f.b1',
        '        type: output',
        '        stageOut: true',
        '        registerReplica: false',
        '',
      ].join('\n'),
    );
  });

  it('quotes strings other readers would type, and only those', () => {
    const text = stringifyYaml({
      version: '4.0',
      size: '2048',
      flag: 'yes',
      none: '~',
      date: '2024-01-01',
      word: 'montage',
      path: '/usr/bin/env',
      url: 'http://x/y',
      empty: '',
    });
    expect(text).toBe(
      [
        'version: "4.0"',
        'size: "2048"',
        'flag: "yes"',
        'none: "~"',
        'date: "2024-01-01"',
        'word: montage',
        'path: /usr/bin/env',
        'url: http://x/y',
        'empty: ""',
        '',
      ].join('\n'),
    );
  });

  it('writes numbers and booleans plain (they read back as strings), skips undefined members', () => {
    const text = stringifyYaml({
      n: 1,
      f: 1.5,
      b: false,
      args: [1, true],
      gone: undefined,
      big: 10n,
    });
    expect(text).toBe('"n": 1\nf: 1.5\nb: false\nargs: [1, true]\nbig: 10\n');
    expect(parseYaml(text, 'x')).toEqual({
      n: '1',
      f: '1.5',
      b: 'false',
      args: ['1', 'true'],
      big: '10',
    });
    expect(parseYaml(stringifyYaml([undefined, 'a']), 'x')).toEqual([null, 'a']);
  });

  it('uses block style for long or non-scalar lists', () => {
    const long = Array.from({ length: 20 }, (_, i) => `argument-${i}`);
    expect(stringifyYaml({ a: long })).toMatch(/^a:\n {2}- argument-0\n/);
    expect(stringifyYaml({ a: ['x', null] })).toBe('a:\n  - x\n  -\n');
    expect(stringifyYaml([['a', 'b'], [{ c: 'd' }]])).toBe('- [a, b]\n- - c: d\n');
  });

  it('rejects what YAML cannot hold', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cases: [unknown, RegExp][] = [
      [cyclic, /cycle/],
      [{ a: Number.NaN }, /NaN cannot be written/],
      [{ a: Infinity }, /Infinity cannot be written/],
      [{ a: () => 1 }, /a function cannot be written/],
      [{ a: new Date(0) }, /a Date cannot be written/],
      [[Symbol('s')], /a symbol cannot be written/],
    ];
    for (const [value, message] of cases) {
      let caught: unknown;
      try {
        stringifyYaml(value);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(AloftError);
      expect((caught as AloftError).code).toBe('INVALID_ARGUMENT');
      expect((caught as AloftError).problems[0]!.message).toMatch(message);
    }
  });
});
