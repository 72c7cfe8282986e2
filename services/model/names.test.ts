import { describe, expect, it } from 'vitest';
import { AloftError } from '../../lib/errors/index.js';
import {
  assertJobId,
  assertLfn,
  assertSafeName,
  sanitizeJobId,
  sanitizeLfn,
  sanitizeName,
  validateJobId,
  validateLfn,
  validateName,
  validateSiteName,
  validateTransformationName,
} from './index.js';

describe('job ids', () => {
  it.each(['ID0000001', 'diamond_subworkflow', 'a-b_C9', 'x'.repeat(200)])('accepts %s', (id) => {
    expect(validateJobId(id)).toBeUndefined();
  });
  it.each([
    ['', /empty/],
    ['has space', /letters, digits/],
    ['a.b', /letters, digits/],
    ['a/b', /letters, digits/],
    ['x'.repeat(201), /201 characters/],
    [5, /must be a string/],
  ])('rejects %j', (id, message) => {
    expect(validateJobId(id)).toMatch(message);
  });
});

describe('lfns', () => {
  it.each([
    'f.a',
    'pegasus.html',
    'SRR1234_1.fastq',
    'SRR5160663_spades_output/contigs.fasta',
    '9cdf35065947.tar.gz',
    'a b.txt',
    '..hidden',
    'a..b',
    'ünïcødé.dat',
  ])('accepts %s', (lfn) => {
    expect(validateLfn(lfn)).toBeUndefined();
  });
  it.each([
    ['', /empty/],
    ['../etc/passwd', /'\.\.' segment/],
    ['a/../../b', /'\.\.' segment/],
    ['..', /'\.\.' segment/],
    ['/etc/passwd', /absolute/],
    ['a\u0000b', /NUL/],
    ['a\nb', /control character/],
    ['a\\b', /contains '\\'/],
    ['./a', /'\.' segment/],
    ['a//b', /empty path segment/],
    ['dir/', /empty path segment/],
    ['x'.repeat(1025), /1025 characters/],
  ])('rejects %j', (lfn, message) => {
    expect(validateLfn(lfn)).toMatch(message);
  });
});

describe('site and transformation names', () => {
  it.each(['local', 'condorpool', 'edge-radar-1', 'hpc.anvil', 'ex_trim_run'])(
    'accepts %s',
    (n) => {
      expect(validateSiteName(n)).toBeUndefined();
      expect(validateTransformationName(n)).toBeUndefined();
    },
  );
  it.each(['.', '..', 'a/b', 'a b', '', 'a:b', 'x'.repeat(201)])('rejects %j', (n) => {
    expect(validateSiteName(n)).toBeDefined();
  });
});

describe('messages and asserts', () => {
  it('prefixes the kind', () => {
    expect(validateName('lfn', '/x')).toMatch(/^lfn "\/x" is an absolute path/);
    expect(validateName('site name', 'ok')).toBeUndefined();
  });
  it('assert throws INVALID_ARGUMENT with where and hint', () => {
    try {
      assertLfn('../x', 'my.yml: jobs[0].uses[0].lfn');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AloftError);
      const err = e as AloftError;
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.problems[0]?.where).toBe('my.yml: jobs[0].uses[0].lfn');
      expect(err.problems[0]?.hint).toMatch(/relative/);
    }
    expect(assertJobId('ID1')).toBe('ID1');
    expect(() => assertSafeName('a/b', 'site name')).toThrow(/site name "a\/b"/);
  });
});

describe('sanitizers', () => {
  it('produce valid names deterministically', () => {
    expect(sanitizeJobId('NFCORE.RNASEQ.X_1')).toBe('NFCORE_RNASEQ_X_1');
    expect(sanitizeJobId('')).toBe('_');
    expect(sanitizeName('..')).toBe('__');
    expect(sanitizeName('a b/c')).toBe('a_b_c');
    expect(sanitizeLfn('ok/name.txt')).toBe('ok/name.txt');
    expect(sanitizeLfn('/97/60d2/x.fq.gz')).toBe('_97_60d2_x.fq.gz');
    expect(sanitizeLfn('..')).toBe('__');
    for (const raw of ['/a/b', 'a\\b', '../x', '', 'a//b', '.']) {
      expect(validateLfn(sanitizeLfn(raw))).toBeUndefined();
      expect(validateJobId(sanitizeJobId(raw))).toBeUndefined();
      expect(validateSiteName(sanitizeName(raw))).toBeUndefined();
    }
  });
});
