/**
 * Hostile and odd input: alias bombs, absurd nesting, oversize text, recursive aliases —
 * each rejected with a clear INVALID_ARGUMENT naming the position — while legitimate
 * anchors pass, and JSON input keeps the all-strings contract.
 */
import { describe, expect, it } from 'vitest';
import { AloftError } from '../../../lib/errors/index.js';
import { DEFAULT_YAML_LIMITS, parseYaml, type YamlParseStats } from './index.js';

function rejection(text: string, limits?: Parameters<typeof parseYaml>[2]): AloftError {
  try {
    parseYaml(text, 'bomb.yml', limits);
  } catch (e) {
    expect(e).toBeInstanceOf(AloftError);
    expect((e as AloftError).code).toBe('INVALID_ARGUMENT');
    return e as AloftError;
  }
  throw new Error('expected a rejection');
}

/** The classic billion laughs: 9 levels of 9 aliases (9^9 ≈ 387 million strings). */
const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
  'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
  '',
].join('\n');

describe('alias budget', () => {
  it('rejects the billion laughs', () => {
    const e = rejection(BILLION_LAUGHS);
    expect(e.problems[0]!.message).toMatch(
      /^YAML aliases expand to more than \d+ nodes \(possible alias bomb\)$/,
    );
    expect(e.problems[0]!.where).toBe('bomb.yml:2:8');
    expect(e.problems[0]!.hint).toMatch(/maxAliasExpansion/);
  });

  it('rejects a smaller bomb under a smaller budget, accepts it under the default', () => {
    const text = 'a: &a [x, y, z]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n';
    expect(rejection(text, { maxAliasExpansion: 5 }).problems[0]!.message).toMatch(/alias bomb/);
    const v = parseYaml(text, 'ok.yml') as { c: string[][][] };
    expect(v.c[2]![1]).toEqual(['x', 'y', 'z']);
  });

  it('accepts a profile block reused by several jobs', () => {
    const text = [
      'x-defaults: &defaults',
      '  env: {JAVA_HOME: /opt/java, PATH: /bin}',
      '  condor: {request_memory: "2048"}',
      'jobs:',
      '  - id: a',
      '    profiles: *defaults',
      '  - id: b',
      '    profiles: *defaults',
      '  - id: c',
      '    profiles: *defaults',
      '',
    ].join('\n');
    const stats: YamlParseStats = {};
    const v = parseYaml(text, 'ok.yml', undefined, stats) as { jobs: { profiles: unknown }[] };
    expect(stats.path).toBe('js-yaml');
    expect(v.jobs.map((j) => j.profiles)).toEqual(
      Array(3).fill({
        env: { JAVA_HOME: '/opt/java', PATH: '/bin' },
        condor: { request_memory: '2048' },
      }),
    );
  });

  it('rejects an alias inside its own anchor (infinite expansion)', () => {
    const e = rejection('a: &x [b, *x]\n');
    expect(e.problems[0]!.message).toMatch(/refers to the node that contains it/);
    expect(e.problems[0]!.where).toBe('bomb.yml:1:11');
  });

  it('counts depth through aliases', () => {
    const lines = ['l0: &l0 [x]'];
    for (let i = 1; i < 600; i++) lines.push(`l${i}: &l${i} [*l${i - 1}]`);
    expect(rejection(lines.join('\n') + '\n').problems[0]!.message).toBe(
      'nesting deeper than 512 levels',
    );
  });
});

describe('nesting depth', () => {
  it('rejects 100k nested flow sequences', () => {
    const e = rejection('['.repeat(100_000) + ']'.repeat(100_000));
    expect(e.problems[0]!.message).toBe('nesting deeper than 512 levels');
    expect(e.problems[0]!.where).toBe('bomb.yml:1:513');
  });

  it('rejects 100k nested flow sequences that js-yaml has to read (anchor present)', () => {
    const e = rejection('a: &x ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n');
    expect(e.problems[0]!.message).toBe('nesting deeper than 512 levels');
    expect(e.problems[0]!.where).toMatch(/^bomb\.yml:1:\d+$/);
  });

  it('rejects 100k nested block sequences', () => {
    const e = rejection('- '.repeat(100_000) + 'x\n');
    expect(e.problems[0]!.message).toBe('nesting deeper than 512 levels');
    expect(e.problems[0]!.where).toBe('bomb.yml:1:1025');
  });

  it('rejects block mappings nested by indentation past the limit', () => {
    const lines = Array.from({ length: 600 }, (_, i) => `${' '.repeat(i)}k${i}:`);
    const e = rejection(lines.join('\n') + ' x\n');
    expect(e.problems[0]!.message).toBe('nesting deeper than 512 levels');
    expect(e.problems[0]!.where).toBe('bomb.yml:513:513');
  });

  it('rejects 100k nested JSON arrays', () => {
    const e = rejection('['.repeat(100_000) + ']'.repeat(100_000) + '\n');
    expect(e.problems[0]!.message).toBe('nesting deeper than 512 levels');
  });

  it('accepts exactly maxDepth levels and rejects one more, on every path', () => {
    const flow = (n: number): string => '['.repeat(n) + 'x' + ']'.repeat(n);
    expect(parseYaml(flow(512), 'ok.yml')).toBeDefined();
    expect(parseYaml(`[${'['.repeat(511)}${']'.repeat(511)}]`, 'ok.json')).toBeDefined();
    expect(parseYaml(`&a ${flow(512)}`, 'ok.yml')).toBeDefined();
    expect(rejection(flow(513)).problems[0]!.message).toMatch(/deeper than 512/);
    expect(rejection(`[${'['.repeat(512)}${']'.repeat(512)}]`).problems[0]!.message).toMatch(
      /deeper than 512/,
    );
    expect(rejection(`&a ${flow(513)}`).problems[0]!.message).toMatch(/deeper than 512/);
    expect(rejection(flow(11), { maxDepth: 10 }).problems[0]!.message).toBe(
      'nesting deeper than 10 levels',
    );
  });
});

describe('size limit', () => {
  it('rejects text over maxBytes, counting UTF-8 bytes', () => {
    expect(parseYaml('a: 1\n', 'ok.yml', { maxBytes: 5 })).toEqual({ a: '1' });
    const e = rejection('a: 1\n', { maxBytes: 4 });
    expect(e.problems[0]).toMatchObject({
      where: 'bomb.yml',
      message: 'larger than the limit of 4 bytes',
    });
    // 'é' is one UTF-16 unit but two UTF-8 bytes.
    expect(rejection('a: é\n', { maxBytes: 5 }).problems[0]!.message).toMatch(/limit of 5 bytes/);
    expect(parseYaml('a: é\n', 'ok.yml', { maxBytes: 6 })).toEqual({ a: 'é' });
  });

  it('has sensible defaults and rejects nonsense limits', () => {
    expect(DEFAULT_YAML_LIMITS).toEqual({
      maxBytes: 1024 ** 3,
      maxDepth: 512,
      maxAliasExpansion: 1_000_000,
    });
    expect(() => parseYaml('a: 1', 'x', { maxDepth: -1 })).toThrow(/YamlLimits\.maxDepth/);
    expect(() => parseYaml('a: 1', 'x', { maxBytes: Number.NaN })).toThrow(AloftError);
  });
});

describe('JSON input', () => {
  it('reads JSON with numbers and booleans as strings, null as null', () => {
    const stats: YamlParseStats = {};
    const v = parseYaml(
      '{"pegasus": "5.0", "jobs": [{"id": "a", "arguments": ["-n", 1, 1.5, true, false, null]}], "size": 2048}',
      'wf.json',
      undefined,
      stats,
    );
    expect(stats.path).toBe('json');
    expect(v).toEqual({
      pegasus: '5.0',
      jobs: [{ id: 'a', arguments: ['-n', '1', '1.5', 'true', 'false', null] }],
      size: '2048',
    });
  });

  it('keeps a JSON __proto__ key as data and falls through to YAML when it is not JSON', () => {
    const v = parseYaml('{"__proto__": {"x": 1}}', 'wf.json') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ x: '1' });
    const stats: YamlParseStats = {};
    expect(parseYaml('{a: 1, "b": [c]}', 'flow.yml', undefined, stats)).toEqual({
      a: '1',
      b: ['c'],
    });
    expect(stats.path).toBe('fast');
    expect(parseYaml('\uFEFF  ["a"]\n', 'bom.json', undefined, stats)).toEqual(['a']);
    expect(stats.path).toBe('json');
  });
});
