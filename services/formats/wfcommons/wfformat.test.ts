/**
 * WfCommons import: every shared trace (plain and .gz) with exactly the task count its
 * README lists and exactly the edges its parents/children give; hand-made 1.3 and 1.4
 * documents; bad input.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED } from '../../../test/helpers/cli.js';
import { AloftError } from '../../../lib/errors/index.js';
import { validateJobId, validateLfn, validateTransformationName } from '../../model/names.js';
import type { Workflow } from '../../model/types.js';
import { importWfFormat, taskJobName, workflowFromWfFormat } from './index.js';

const W = path.join(SHARED, 'workflows', 'wfcommons');

function traces(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'schema') out.push(...traces(p));
    } else if (/\.json(\.gz)?$/.test(name)) out.push(path.relative(W, p));
  }
  return out.sort();
}

/** README table rows: local file → the `tasks` column. */
function readmeTaskCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  let tasksCol = -1;
  for (const line of readFileSync(path.join(W, 'README.md'), 'utf8').split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').map((c) => c.trim());
    const header = cells.indexOf('tasks');
    if (header >= 0) {
      tasksCol = header;
      continue;
    }
    const file = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    const tasks = Number(cells[tasksCol]);
    if (tasksCol >= 0 && file && Number.isInteger(tasks)) counts.set(file, tasks);
  }
  return counts;
}

function raw(rel: string): {
  workflow: { specification: { tasks: { id: string; parents: string[]; children: string[] }[] } };
} {
  const bytes = readFileSync(path.join(W, rel));
  return JSON.parse((rel.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
}

/** Edges as `parent -> child` over ORIGINAL task ids. */
function modelEdges(wf: Workflow): Set<string> {
  const orig = new Map(wf.jobs.map((j) => [j.id, j.metadata['wf.id']]));
  const out = new Set<string>();
  for (const d of wf.dependencies)
    for (const c of d.children) out.add(`${orig.get(d.id)} -> ${orig.get(c)}`);
  return out;
}

describe.skipIf(!existsSync(W))('shared WfCommons traces', () => {
  const files = existsSync(W) ? traces(W) : [];
  const counts = existsSync(W) ? readmeTaskCounts() : new Map<string, number>();

  it('the README lists every trace', () => {
    expect(files.length).toBeGreaterThanOrEqual(27);
    expect([...counts.keys()].sort()).toEqual(files);
  });

  it.each(files)('%s: task count and edges', async (rel) => {
    const loaded = await importWfFormat(path.join(W, rel));
    const wf = loaded.workflow;
    expect(wf.jobs).toHaveLength(counts.get(rel) as number);
    expect(loaded.sources).toEqual({ workflow: path.join(W, rel) });
    expect(loaded.replicas.replicas).toEqual([]);
    expect(loaded.transformations).toEqual({ transformations: [], containers: [] });
    expect(loaded.sites.sites).toEqual([]);

    const expected = new Set<string>();
    for (const t of raw(rel).workflow.specification.tasks) {
      for (const p of t.parents) expected.add(`${p} -> ${t.id}`);
      for (const c of t.children) expected.add(`${t.id} -> ${c}`);
    }
    expect(modelEdges(wf)).toEqual(expected);

    // Every name is valid and ids are unique; each lfn maps to one file id.
    const ids = new Set(wf.jobs.map((j) => j.id));
    expect(ids.size).toBe(wf.jobs.length);
    const lfnToRaw = new Map<string, string>();
    for (const j of wf.jobs) {
      expect(validateJobId(j.id)).toBeUndefined();
      expect(validateTransformationName(j.name)).toBeUndefined();
      for (const u of j.uses) {
        expect(validateLfn(u.lfn)).toBeUndefined();
        const rawId = u.metadata['wf.id'] ?? u.lfn;
        expect(lfnToRaw.get(u.lfn) ?? rawId).toBe(rawId);
        lfnToRaw.set(u.lfn, rawId);
      }
    }
  });

  it('montage 2mass-005d: names, profiles and sizes from the trace', async () => {
    const rel = 'pegasus/montage/montage-chameleon-2mass-005d-001.json';
    const wf = (await importWfFormat(path.join(W, rel))).workflow;
    const doc = JSON.parse(readFileSync(path.join(W, rel), 'utf8'));
    const spec = doc.workflow.specification;
    const exec = doc.workflow.execution.tasks[0];
    const task = spec.tasks[0];
    const job = wf.jobs[0];
    expect(job?.id).toBe(task.id);
    expect(job?.name).toBe('mProject');
    expect(job?.metadata).toEqual({ 'wf.id': task.id, 'wf.name': task.name });
    expect(job?.profiles['pegasus']?.['runtime']).toBe(String(exec.runtimeInSeconds));
    expect(job?.profiles['pegasus']?.['memory']).toBe(
      String(Math.ceil(exec.memoryInBytes / 1024 / 1024)),
    );
    expect(job?.uses.map((u) => u.lfn)).toEqual([...task.inputFiles, ...task.outputFiles]);
    const sizes = new Map(
      spec.files.map((f: { id: string; sizeInBytes: number }) => [f.id, f.sizeInBytes]),
    );
    for (const u of job?.uses ?? []) expect(u.size).toBe(sizes.get(u.lfn));
    expect(new Set(wf.jobs.map((j) => j.name))).toEqual(
      new Set([
        'mProject',
        'mDiffFit',
        'mConcatFit',
        'mBgModel',
        'mBackground',
        'mImgtbl',
        'mAdd',
        'mViewer',
      ]),
    );
    expect(wf.metadata['wf.schemaVersion']).toBe('1.5');
  });

  it('nextflow rnaseq: dotted ids and absolute file paths are mapped to valid names', async () => {
    const wf = (await importWfFormat(path.join(W, 'nextflow/rnaseq-dirt02-001.json'))).workflow;
    const j = wf.jobs[0];
    expect(j?.metadata['wf.id']).toBe('NFCORE_RNASEQ.RNASEQ.INPUT_CHECK.SAMPLESHEET_CHECK_1');
    expect(j?.id).toBe('NFCORE_RNASEQ_RNASEQ_INPUT_CHECK_SAMPLESHEET_CHECK_1');
    // The program is a whole shell script, so the name comes from the task name.
    expect(j?.name).toBe('NFCORE_RNASEQ.RNASEQ.INPUT_CHECK.SAMPLESHEET_CHECK');
    const mapped = wf.jobs.flatMap((x) => x.uses).find((u) => u.metadata['wf.id'] !== undefined);
    expect(mapped?.metadata['wf.id']?.startsWith('/')).toBe(true);
    expect(mapped?.lfn.startsWith('_')).toBe(true);
  });
});

describe('hand-made documents', () => {
  it('1.3: ids from names, parents by name, sizes and memory in KB', () => {
    const wf = workflowFromWfFormat(
      {
        name: 'tiny',
        schemaVersion: '1.3',
        workflow: {
          makespan: 10,
          executedAt: 'x',
          tasks: [
            {
              name: 'split_ID0000001',
              type: 'compute',
              parents: [],
              files: [
                { name: 'in.txt', size: 2, link: 'input' },
                { name: 'part.txt', size: 1, link: 'output' },
              ],
              runtime: 1.5,
              cores: 2,
              memory: 2048,
              command: { program: '/usr/bin/split', arguments: ['-n', '2'] },
            },
            {
              name: 'count_ID0000002',
              type: 'auxiliary',
              parents: ['split_ID0000001'],
              files: [{ name: 'part.txt', size: 1, link: 'input' }],
              runtime: 0,
              memory: 10,
            },
          ],
        },
      },
      'tiny.json',
    );
    expect(wf.name).toBe('tiny');
    expect(wf.jobs.map((j) => [j.id, j.name])).toEqual([
      ['split_ID0000001', 'split'],
      ['count_ID0000002', 'count'],
    ]);
    expect(wf.jobs[0]?.uses.map((u) => [u.lfn, u.link, u.size, u.stageOut])).toEqual([
      ['in.txt', 'input', 2048, false],
      ['part.txt', 'output', 1024, true],
    ]);
    expect(wf.jobs[0]?.profiles).toEqual({ pegasus: { runtime: '1.5', cores: '2', memory: '2' } });
    expect(wf.jobs[1]?.profiles).toEqual({ pegasus: { runtime: '0', memory: '1' } });
    expect(wf.jobs[1]?.metadata['wf.type']).toBe('auxiliary');
    expect(wf.dependencies).toEqual([{ id: 'split_ID0000001', children: ['count_ID0000002'] }]);
  });

  it('1.4: jobs[] layout, ids, children, sizeInBytes, memoryInBytes, category', () => {
    const wf = workflowFromWfFormat(
      {
        name: 'four.json',
        schemaVersion: '1.4',
        workflow: {
          makespanInSeconds: 3,
          executedAt: 'x',
          jobs: [
            {
              name: 'a',
              id: 'T.1',
              category: 'prep',
              type: 'compute',
              children: ['T_1'],
              files: [{ name: 'x/y.dat', sizeInBytes: 5, link: 'output' }],
              runtimeInSeconds: 2,
              memoryInBytes: 3 * 1024 * 1024 + 1,
            },
            {
              name: 'b',
              id: 'T_1',
              type: 'compute',
              parents: ['a'],
              files: [{ id: 'x/y.dat', sizeInBytes: 5, link: 'input' }],
              runtimeInSeconds: 1,
              cores: 1.5,
            },
          ],
        },
      },
      'four.json',
    );
    expect(wf.name).toBe('four');
    // 'T_1' is valid and keeps its spelling; 'T.1' sanitises to T_1, taken, so T_1_2.
    expect(wf.jobs.map((j) => [j.id, j.name, j.metadata['wf.id']])).toEqual([
      ['T_1_2', 'prep', 'T.1'],
      ['T_1', 'b', 'T_1'],
    ]);
    expect(wf.jobs[0]?.uses[0]).toMatchObject({ lfn: 'x/y.dat', size: 5, metadata: {} });
    expect(wf.jobs[0]?.profiles['pegasus']).toEqual({ runtime: '2', memory: '4' });
    expect(wf.jobs[1]?.profiles['pegasus']).toEqual({ runtime: '1', cores: '2' });
    // Parent by name ('a') and child by id ('T_1') give one edge.
    expect(wf.dependencies).toEqual([{ id: 'T_1_2', children: ['T_1'] }]);
  });

  it('job names: category, then a plain program, then the task name without its suffix', () => {
    expect(taskJobName({ name: 'x_ID01', category: 'cat', program: 'prog' })).toBe('cat');
    expect(taskJobName({ name: 'x_ID01', program: '/opt/bin/prog' })).toBe('prog');
    expect(taskJobName({ name: 'mDiffFit_ID0000013', program: 'sh -c "x"' })).toBe('mDiffFit');
    expect(taskJobName({ name: 'GUNZIP_GTF_3' })).toBe('GUNZIP_GTF');
    expect(taskJobName({ name: 'a b' })).toBe('a_b');
  });

  it('lfns that are not valid are mapped uniquely and deterministically', () => {
    const doc = {
      name: 'f',
      schemaVersion: '1.5',
      workflow: {
        specification: {
          tasks: [
            {
              name: 't',
              id: 't',
              parents: [],
              children: [],
              inputFiles: ['/a/b', '_a_b', 'a\\b'],
              outputFiles: [],
            },
          ],
          files: [],
        },
      },
    };
    const uses = workflowFromWfFormat(doc, 'f.json').jobs[0]?.uses ?? [];
    expect(uses.map((u) => [u.lfn, u.metadata['wf.id']])).toEqual([
      ['_a_b_2', '/a/b'],
      ['_a_b', undefined],
      ['a_b', 'a\\b'],
    ]);
    expect(workflowFromWfFormat(doc, 'f.json')).toEqual(workflowFromWfFormat(doc, 'f.json'));
  });
});

describe('bad input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-wf-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('unknown references and duplicate ids are reported together', () => {
    const err = (() => {
      try {
        workflowFromWfFormat(
          {
            schemaVersion: '1.5',
            workflow: {
              specification: {
                tasks: [
                  { name: 'a', id: 'a', parents: ['ghost'], children: [] },
                  { name: 'a', id: 'a', parents: [], children: [] },
                  { name: 'b', id: 'b', parents: 'a', children: ['phantom'] },
                ],
              },
            },
          },
          'bad.json',
        );
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AloftError);
    expect((err as AloftError).problems.map((p) => p.where)).toEqual([
      'bad.json: workflow.specification.tasks[2].parents',
      'bad.json: workflow.specification.tasks[1].id',
      'bad.json: workflow.specification.tasks[0].parents[0] (task a)',
      'bad.json: workflow.specification.tasks[2].children[0] (task b)',
    ]);
  });

  it('not JSON, not WfFormat, missing file; gzip detected by content', async () => {
    await writeFile(path.join(dir, 'broken.json'), '{"workflow": ');
    await expect(importWfFormat(path.join(dir, 'broken.json'))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      problems: [
        { where: path.join(dir, 'broken.json'), message: expect.stringMatching(/not valid JSON/) },
      ],
    });
    await writeFile(path.join(dir, 'other.json'), '{"tasks": []}');
    await expect(importWfFormat(path.join(dir, 'other.json'))).rejects.toThrow(/not a WfCommons/);
    await expect(importWfFormat(path.join(dir, 'absent.json'))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/trace file not found/),
    });
    const doc = {
      schemaVersion: '1.5',
      name: 'z',
      workflow: { specification: { tasks: [{ name: 'a', id: 'a', parents: [], children: [] }] } },
    };
    await writeFile(path.join(dir, 'z.data'), gzipSync(JSON.stringify(doc)));
    const l = await importWfFormat(path.join(dir, 'z.data'));
    expect(l.workflow.jobs.map((j) => j.id)).toEqual(['a']);
  });
});
