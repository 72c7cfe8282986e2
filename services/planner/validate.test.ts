import { describe, expect, test } from 'vitest';
import { isAloftError } from '../../lib/errors/index.js';
import {
  diamond,
  input,
  installedEverywhere,
  job,
  loaded,
  output,
  replica,
  workflow,
} from '../../test/helpers/planner-model.js';
import { checkWorkflow, defaultPlanOptions, plan, validate } from './index.js';

const tc = installedEverywhere(['t', 'preprocess', 'findrange', 'analyze'], ['condorpool']);

describe('validate', () => {
  test('the black diamond is valid; counts jobs, edges (explicit ∪ inferred) and files', () => {
    const check = checkWorkflow(diamond());
    expect(check.problems).toEqual([]);
    expect(check).toMatchObject({ jobs: 4, edges: 4, files: 6 });
  });

  test('inferred edges count without jobDependencies', () => {
    const d = diamond();
    d.workflow.dependencies = [];
    expect(checkWorkflow(d)).toMatchObject({ problems: [], edges: 4 });
  });

  test('duplicate job ids', () => {
    const wf = workflow([job('A', 't'), job('A', 't'), job('B', 't')]);
    const problems = validate(loaded(wf, { transformations: tc }));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.where).toBe('workflow.yml: job A');
    expect(problems[0]!.message).toMatch(/A is used by more than one job/);
  });

  test('dangling ids in id and in children, all reported at once', () => {
    const wf = workflow(
      [job('A', 't'), job('B', 't')],
      [
        { id: 'A', children: ['B', 'NOPE'] },
        { id: 'GHOST', children: ['B'] },
      ],
    );
    const problems = validate(loaded(wf, { transformations: tc }));
    expect(problems.map((p) => p.message)).toEqual([
      'jobDependencies name unknown job NOPE (child of A)',
      'jobDependencies name unknown job GHOST (parent of B)',
    ]);
    expect(problems.every((p) => p.where.startsWith('workflow.yml'))).toBe(true);
  });

  test('a cycle is printed as A -> B -> C -> A, once', () => {
    const wf = workflow(
      [job('A', 't'), job('B', 't'), job('C', 't'), job('D', 't')],
      [
        { id: 'A', children: ['B'] },
        { id: 'B', children: ['C'] },
        { id: 'C', children: ['A', 'D'] },
      ],
    );
    const problems = validate(loaded(wf, { transformations: tc }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      where: 'workflow.yml: job A',
      message: 'cycle: A -> B -> C -> A',
    });
  });

  test('two distinct cycles, one through a file, are both reported; a self-loop too', () => {
    const wf = workflow(
      [
        job('A', 't', [input('y'), output('x')]),
        job('B', 't', [input('x'), output('y')]),
        job('C', 't'),
        job('D', 't'),
        job('S', 't'),
      ],
      [
        { id: 'C', children: ['D'] },
        { id: 'D', children: ['C'] },
        { id: 'S', children: ['S'] },
      ],
    );
    const messages = validate(loaded(wf, { transformations: tc })).map((p) => p.message);
    expect(messages).toEqual(['cycle: A -> B -> A', 'cycle: C -> D -> C', 'cycle: S -> S']);
  });

  test('unknown transformation with close names and with a version mismatch', () => {
    const wf = workflow([
      job('A', 'findrang'),
      job('B', 'findrange', [], { namespace: 'pegasus', version: '4.0' }),
      job('C', 'zzzzzzzz'),
    ]);
    const cat = installedEverywhere(['findrange', 'analyze'], ['condorpool']);
    cat.transformations[0]!.version = '2.0';
    const problems = validate(loaded(wf, { transformations: cat }));
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatchObject({
      where: 'workflow.yml: job A',
      message: 'transformation findrang is not in the transformation catalog',
    });
    expect(problems[0]!.hint).toMatch(/did you mean findrange/);
    expect(problems[1]!.message).toMatch(/pegasus::findrange:4.0 is not in/);
    expect(problems[1]!.hint).toMatch(/the catalog has findrange:2.0/);
    expect(problems[2]!.hint).toMatch(/it has findrange, analyze/);
  });

  test('namespace and version match only when both sides give them', () => {
    const wf = workflow([job('A', 't', [], { namespace: 'ns', version: '1' })]);
    expect(validate(loaded(wf, { transformations: tc }))).toEqual([]);
  });

  test('an input with neither producer nor replica names every job needing it', () => {
    const wf = workflow([
      job('A', 't', [input('missing.dat'), output('a.out')]),
      job('B', 't', [input('missing.dat'), output('b.out')]),
      job('C', 't', [input('plan.yml', { forPlanning: true }), output('c.out')]),
    ]);
    const problems = validate(loaded(wf, { transformations: tc }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      where: 'workflow.yml: job A',
      message: 'input missing.dat is produced by no job and has no replica (needed by A, B)',
    });
  });

  test('a regex replica satisfies an input', () => {
    const wf = workflow([job('A', 't', [input('data_7.txt'), output('o')])]);
    const l = loaded(wf, {
      transformations: tc,
      replicas: [replica('data_[0-9]+\\.txt', [['http://h/[0]', 'local']], { regex: true })],
    });
    expect(validate(l)).toEqual([]);
  });

  test('two producers of one lfn, and one job reading and writing the same lfn', () => {
    const wf = workflow([
      job('A', 't', [output('x')]),
      job('B', 't', [output('x')]),
      job('C', 't', [input('y'), output('y')]),
    ]);
    const messages = validate(loaded(wf, { transformations: tc })).map((p) => p.message);
    expect(messages).toEqual([
      'job C uses y as both an input and an output',
      'x is an output of both A and B',
    ]);
  });

  test('bad job ids and lfns', () => {
    const wf = workflow([job('a b', 't', [output('../escape')])]);
    const problems = validate(loaded(wf, { transformations: tc }));
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^job id "a b" may contain only/),
      expect.stringMatching(/^lfn "..\/escape" has a '..' segment/),
    ]);
  });

  test('many problems of one kind are capped with a count', () => {
    const jobs = Array.from({ length: 50 }, (_, i) => job(`J${i}`, 'nope'));
    const problems = validate(loaded(workflow(jobs), { transformations: tc }));
    expect(problems).toHaveLength(21);
    expect(problems[20]!.message).toMatch(/^30 more problems like the above/);
  });

  test('plan refuses an invalid workflow with every problem', () => {
    const wf = workflow([job('A', 'nope', [input('gone')])], [{ id: 'A', children: ['Z'] }]);
    let caught: unknown;
    try {
      plan(loaded(wf, { transformations: tc }), defaultPlanOptions({ storeRoot: 'file:///s/' }));
    } catch (e) {
      caught = e;
    }
    expect(isAloftError(caught) && caught.code).toBe('INVALID_ARGUMENT');
    expect(isAloftError(caught) && caught.problems.length).toBe(3);
  });
});
