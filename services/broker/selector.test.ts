import { describe, expect, it } from 'vitest';
import { AloftError } from '../../lib/errors/index.js';
import {
  clauseMatches,
  describeClause,
  parseSelector,
  selectorMatches,
  type SelectorClause,
} from './selector.js';

const WHERE = 'job j1: profile aloft.selector';

function parseError(text: string): AloftError {
  try {
    parseSelector(text, WHERE);
  } catch (e) {
    if (e instanceof AloftError) return e;
    throw e;
  }
  throw new Error(`expected '${text}' to be rejected`);
}

const one = (text: string): SelectorClause => {
  const clauses = parseSelector(text, WHERE);
  expect(clauses).toHaveLength(1);
  return clauses[0]!;
};

describe('parseSelector', () => {
  it('parses every operator into canonical clauses', () => {
    expect(
      parseSelector(
        'zone In (east, west), tier NotIn (old), gpu, !spot, rack Gt 3, load Lt 5',
        WHERE,
      ),
    ).toEqual([
      { key: 'zone', op: 'In', values: ['east', 'west'], text: 'zone In (east,west)' },
      { key: 'tier', op: 'NotIn', values: ['old'], text: 'tier NotIn (old)' },
      { key: 'gpu', op: 'Exists', values: [], text: 'gpu' },
      { key: 'spot', op: 'DoesNotExist', values: [], text: '!spot' },
      { key: 'rack', op: 'Gt', values: ['3'], text: 'rack Gt 3' },
      { key: 'load', op: 'Lt', values: ['5'], text: 'load Lt 5' },
    ]);
  });

  it('accepts lower-case operators, equality shorthands and prefixed keys', () => {
    expect(one('zone in (a)').op).toBe('In');
    expect(one('zone notin (a)').op).toBe('NotIn');
    expect(one('zone=a')).toMatchObject({ op: 'In', values: ['a'] });
    expect(one('zone == a')).toMatchObject({ op: 'In', values: ['a'] });
    expect(one('zone != a')).toMatchObject({ op: 'NotIn', values: ['a'] });
    expect(one('aloft.io/pool In (edge)').key).toBe('aloft.io/pool');
    expect(one('n gt -2')).toMatchObject({ op: 'Gt', values: ['-2'] });
    expect(one('   !  spot  ')).toMatchObject({ op: 'DoesNotExist', key: 'spot' });
  });

  it('treats an empty selector as selecting everything', () => {
    expect(parseSelector('', WHERE)).toEqual([]);
    expect(parseSelector('   ', WHERE)).toEqual([]);
  });

  it('reports every bad clause at once, naming the job and the clause', () => {
    const e = parseError('zone In (), rack Gt x, good, bad key, a=, ,zone In a');
    expect(e.code).toBe('INVALID_ARGUMENT');
    const messages = e.problems.map((p) => p.message);
    expect(e.problems.every((p) => p.where === WHERE && p.hint?.includes('key In (a,b)'))).toBe(
      true,
    );
    expect(messages).toEqual([
      "clause 'zone In ()': In needs at least one value",
      "clause 'rack Gt x': Gt needs one integer, got 'x'",
      "cannot parse clause 'bad key'",
      "clause 'a=' has no value after '='",
      'empty clause (a stray comma?)',
      "clause 'zone In a': In expects a parenthesised list, like zone In (a,b)",
    ]);
  });

  it('rejects invalid keys and values, and unbalanced parentheses', () => {
    expect(parseError('-zone').problems[0]!.message).toBe(
      "'-zone' in clause '-zone' is not a valid label key",
    );
    expect(parseError('zone In (a b)').problems[0]!.message).toBe(
      "'a b' in clause 'zone In (a b)' is not a valid label value",
    );
    expect(parseError(`${'k'.repeat(64)}`).problems[0]!.message).toContain('longer than 63');
    expect(parseError('zone In (a, b').problems[0]!.message).toBe(
      "unbalanced parentheses in selector 'zone In (a, b'",
    );
    expect(parseError('zone Gt 3.5').problems[0]!.message).toContain('needs one integer');
  });
});

describe('selector evaluation (Kubernetes node-affinity semantics)', () => {
  const labels = { zone: 'east', rack: '7', odd: 'x' };
  const cases: [string, boolean][] = [
    ['zone', true],
    ['missing', false],
    ['!missing', true],
    ['!zone', false],
    ['zone In (east,west)', true],
    ['zone In (west)', false],
    ['missing In (east)', false],
    ['zone NotIn (west)', true],
    ['zone NotIn (east)', false],
    ['missing NotIn (east)', true],
    ['zone != east', false],
    ['missing != east', true],
    ['rack Gt 6', true],
    ['rack Gt 7', false],
    ['rack Lt 8', true],
    ['rack Lt 7', false],
    ['missing Gt 0', false],
    ['odd Gt 0', false],
    ['odd Lt 100', false],
  ];
  for (const [text, expected] of cases) {
    it(`${text} -> ${expected}`, () => {
      expect(clauseMatches(labels, one(text))).toBe(expected);
    });
  }

  it('ANDs clauses', () => {
    expect(selectorMatches(labels, parseSelector('zone In (east), rack Gt 5', WHERE))).toBe(true);
    expect(selectorMatches(labels, parseSelector('zone In (east), rack Gt 9', WHERE))).toBe(false);
    expect(selectorMatches(labels, [])).toBe(true);
  });

  it('does not treat inherited object properties as labels', () => {
    expect(clauseMatches({}, one('constructor'))).toBe(false);
    expect(clauseMatches({}, one('toString NotIn (x)'))).toBe(true);
  });

  it('describes clauses in words', () => {
    expect(describeClause(one('zone In (a,b)'))).toBe('label zone in {a, b}');
    expect(describeClause(one('zone=a'))).toBe('label zone = a');
    expect(describeClause(one('zone NotIn (a)'))).toBe('label zone not a');
    expect(describeClause(one('gpu'))).toBe('label gpu present');
    expect(describeClause(one('!spot'))).toBe('label spot absent');
    expect(describeClause(one('rack Gt 3'))).toBe('label rack > 3');
    expect(describeClause(one('rack Lt 3'))).toBe('label rack < 3');
  });
});
