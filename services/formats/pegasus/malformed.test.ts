/**
 * Malformed workflows and catalogs: each gives AloftError INVALID_ARGUMENT whose problems
 * name the file, the key path and (inside a job) the job id. Real files in a tmp dir.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AloftError, type Problem } from '../../../lib/errors/index.js';
import { readWorkflow, type ReadWorkflowOptions } from './index.js';

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-malformed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEAD = 'pegasus: "5.0"\nname: bad\n';

/** A workflow with one job whose body is `job` (indented under `- `). */
function oneJob(job: string): string {
  const lines = job.trim().split('\n');
  return `${HEAD}jobs:\n  - ${lines.join('\n    ')}\n`;
}

async function problemsOf(
  files: Record<string, string>,
  opts: (d: string) => ReadWorkflowOptions = () => ({}),
): Promise<{ file: string; problems: readonly Problem[] }> {
  const d = path.join(dir, `case${++n}`);
  await mkdir(d);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(d, name), text);
  const file = path.join(d, 'workflow.yml');
  const err = await readWorkflow(file, { env: { DEFINED: 'yes' }, ...opts(d) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the read to fail').toBeInstanceOf(AloftError);
  expect((err as AloftError).code).toBe('INVALID_ARGUMENT');
  return { file, problems: (err as AloftError).problems };
}

async function one(
  files: Record<string, string>,
  opts?: (d: string) => ReadWorkflowOptions,
): Promise<Problem & { file: string }> {
  const { file, problems } = await problemsOf(files, opts);
  expect(problems, JSON.stringify(problems)).toHaveLength(1);
  return { ...(problems[0] as Problem), file };
}

describe('malformed workflows', () => {
  it('traversal lfn', async () => {
    const p = await one({
      'workflow.yml': oneJob('id: j1\nname: t\nuses:\n  - {lfn: ../etc/passwd, type: input}'),
    });
    expect(p.where).toBe(`${p.file}: jobs[0].uses[0].lfn (job j1)`);
    expect(p.message).toMatch(/'\.\.' segment/);
    expect(p.hint).toBeDefined();
  });

  it('absolute lfn', async () => {
    const p = await one({
      'workflow.yml': oneJob('id: j1\nname: t\nuses:\n  - {lfn: /etc/passwd, type: output}'),
    });
    expect(p.where).toBe(`${p.file}: jobs[0].uses[0].lfn (job j1)`);
    expect(p.message).toMatch(/absolute path/);
  });

  it('NUL in an lfn', async () => {
    const p = await one({
      'workflow.yml': oneJob('id: j1\nname: t\nuses:\n  - {lfn: "a\\0b", type: input}'),
    });
    expect(p.where).toContain('jobs[0].uses[0].lfn (job j1)');
    expect(p.message).toMatch(/NUL/);
  });

  it('bad job id', async () => {
    const p = await one({ 'workflow.yml': oneJob('id: "bad id!"\nname: t') });
    expect(p.where).toBe(`${p.file}: jobs[0].id (job bad id!)`);
    expect(p.message).toMatch(/job id .* letters, digits/);
  });

  it('job without id', async () => {
    const p = await one({ 'workflow.yml': oneJob('name: t\narguments: []') });
    expect(p.where).toBe(`${p.file}: jobs[0].id`);
    expect(p.message).toMatch(/missing required key 'id'/);
  });

  it('jobs not a list', async () => {
    const p = await one({ 'workflow.yml': `${HEAD}jobs: 5\n` });
    expect(p.where).toBe(`${p.file}: jobs`);
    expect(p.message).toBe('must be a list, not "5"');
  });

  it('uses not a list', async () => {
    const p = await one({ 'workflow.yml': oneJob('id: j1\nname: t\nuses: {lfn: f.a}') });
    expect(p.where).toBe(`${p.file}: jobs[0].uses (job j1)`);
    expect(p.message).toMatch(/must be a list, not a map/);
  });

  it('a use without lfn', async () => {
    const p = await one({ 'workflow.yml': oneJob('id: j1\nname: t\nuses:\n  - type: input') });
    expect(p.where).toBe(`${p.file}: jobs[0].uses[0].lfn (job j1)`);
    expect(p.message).toMatch(/missing required key 'lfn'/);
  });

  it('bad use type', async () => {
    const p = await one({
      'workflow.yml': oneJob('id: j1\nname: t\nuses:\n  - {lfn: f.a, type: banana}'),
    });
    expect(p.where).toBe(`${p.file}: jobs[0].uses[0].type (job j1)`);
    expect(p.message).toMatch(/"banana" is not one of input, output, checkpoint/);
  });

  it('bad job type', async () => {
    const p = await one({ 'workflow.yml': oneJob('id: j1\ntype: task\nname: t') });
    expect(p.where).toBe(`${p.file}: jobs[0].type (job j1)`);
  });

  it('undefined ${VAR}', async () => {
    const p = await one({
      'workflow.yml': oneJob('id: j1\nname: t\narguments: ["${DEFINED}", "${NOPE_NOT_SET}"]'),
    });
    expect(p.where).toBe(`${p.file}: jobs[0].arguments[1] (job j1)`);
    expect(p.message).toMatch(/environment variable 'NOPE_NOT_SET' is not set/);
  });

  it('wrong pegasus major version', async () => {
    const p = await one({ 'workflow.yml': 'pegasus: "4.0"\nname: bad\njobs: []\n' });
    expect(p.where).toBe(`${p.file}: pegasus`);
    expect(p.message).toMatch(/version 4\.0 is not supported/);
  });

  it('missing pegasus version', async () => {
    const p = await one({ 'workflow.yml': 'name: bad\njobs: []\n' });
    expect(p.where).toBe(`${p.file}: pegasus`);
    expect(p.hint).toMatch(/pegasus: "5\.0\.4"/);
  });

  it('arguments as a map', async () => {
    const p = await one({ 'workflow.yml': oneJob('id: j1\nname: t\narguments: {a: b}') });
    expect(p.where).toBe(`${p.file}: jobs[0].arguments (job j1)`);
    expect(p.message).toMatch(/must be a list, not a map/);
  });

  it('an argument that is a map', async () => {
    const p = await one({ 'workflow.yml': oneJob('id: j1\nname: t\narguments: [-i, {a: b}]') });
    expect(p.where).toBe(`${p.file}: jobs[0].arguments[1] (job j1)`);
  });

  it('backslash in stdout', async () => {
    const p = await one({ 'workflow.yml': oneJob('id: j1\nname: t\nstdout: "out\\\\x.txt"') });
    expect(p.where).toBe(`${p.file}: jobs[0].stdout (job j1)`);
    expect(p.message).toMatch(/contains '\\'/);
  });

  it('stageOut that is not a boolean', async () => {
    const p = await one({
      'workflow.yml': oneJob(
        'id: j1\nname: t\nuses:\n  - {lfn: f.b, type: output, stageOut: maybe}',
      ),
    });
    expect(p.where).toBe(`${p.file}: jobs[0].uses[0].stageOut (job j1)`);
    expect(p.message).toMatch(/true or false/);
  });

  it('size that is not a size', async () => {
    const p = await one({
      'workflow.yml': oneJob(
        'id: j1\nname: t\nuses:\n  - {lfn: f.b, type: output, metadata: {size: lots}}',
      ),
    });
    expect(p.where).toBe(`${p.file}: jobs[0].uses[0].metadata.size (job j1)`);
  });

  it('duplicate job ids', async () => {
    const p = await one({
      'workflow.yml': `${HEAD}jobs:\n  - {id: j1, name: t}\n  - {id: j1, name: u}\n`,
    });
    expect(p.where).toBe(`${p.file}: jobs[1].id (job j1)`);
    expect(p.message).toMatch(/duplicate job id 'j1' \(also jobs\[0\]\)/);
  });

  it('a sub-workflow job without file', async () => {
    const p = await one({ 'workflow.yml': oneJob('id: sub\ntype: pegasusWorkflow') });
    expect(p.where).toBe(`${p.file}: jobs[0].file (job sub)`);
  });

  it('broken YAML reports file:line:col', async () => {
    const p = await one({ 'workflow.yml': `${HEAD}jobs:\n  - id: [unclosed\n` });
    expect(p.where).toMatch(
      new RegExp(`^${p.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+$`),
    );
  });

  it('x-aloft that is not a map', async () => {
    const p = await one({ 'workflow.yml': `${HEAD}x-aloft: yes\njobs: []\n` });
    expect(p.where).toBe(`${p.file}: x-aloft`);
  });
});

describe('malformed catalogs', () => {
  const ok = `${HEAD}jobs:\n  - {id: j1, name: t}\n`;

  it('bad site name in the site catalog', async () => {
    const p = await one({
      'workflow.yml': ok,
      'sites.yml': 'pegasus: "5.0"\nsites:\n  - name: "bad/site"\n',
    });
    expect(p.where).toBe(
      `${path.join(path.dirname(p.file), 'sites.yml')}: sites[0].name (site bad/site)`,
    );
    expect(p.message).toMatch(/site name "bad\/site"/);
  });

  it('replica without pfns', async () => {
    const p = await one({
      'workflow.yml': ok,
      'replicas.yml': 'pegasus: "5.0"\nreplicas:\n  - lfn: f.a\n',
    });
    expect(p.where).toBe(
      `${path.join(path.dirname(p.file), 'replicas.yml')}: replicas[0].pfns (lfn f.a)`,
    );
    expect(p.message).toMatch(/missing required key 'pfns'/);
  });

  it('replica pfn with a bad site and a bad checksum', async () => {
    const { problems } = await problemsOf({
      'workflow.yml': ok,
      'replicas.yml':
        'pegasus: "5.0"\nreplicas:\n  - lfn: f.a\n    checksum: {sha256: abc}\n    pfns: [{site: "..", pfn: "file:///f.a"}]\n',
    });
    expect(problems.map((p) => p.where.split(': ')[1])).toEqual([
      'replicas[0].pfns[0].site (lfn f.a)',
      'replicas[0].checksum.sha256 (lfn f.a)',
    ]);
  });

  it('a regex replica that does not compile', async () => {
    const p = await one({
      'workflow.yml': ok,
      'replicas.yml': 'pegasus: "5.0"\nreplicas:\n  - {lfn: "f(", regex: true, pfns: []}\n',
    });
    expect(p.where).toContain('replicas[0].lfn');
    expect(p.message).toMatch(/does not compile/);
  });

  it('unknown container type and transformation site type', async () => {
    const { problems } = await problemsOf({
      'workflow.yml': ok,
      'transformations.yml':
        'pegasus: "5.0"\ntransformations:\n  - name: t\n    sites: [{name: local, pfn: /bin/t, type: magic}]\ncontainers:\n  - {name: c, type: podman, image: "docker:///x"}\n',
    });
    expect(problems.map((p) => p.where.split(': ')[1])).toEqual([
      'transformations[0].sites[0].type (transformation t)',
      'containers[0].type (container c)',
    ]);
  });

  it('a catalog file given explicitly that does not exist', async () => {
    const p = await one({ 'workflow.yml': ok }, (d) => ({ replicas: path.join(d, 'nope.yml') }));
    expect(p.where).toBe(path.join(path.dirname(p.file), 'nope.yml'));
    expect(p.message).toBe('replica catalog file not found');
  });

  it('a catalog path that is a directory', async () => {
    const p = await one({ 'workflow.yml': ok }, (d) => ({ sites: d }));
    expect(p.where).toBe(path.dirname(p.file));
    expect(p.message).toBe('site catalog file is not a regular file');
  });

  it('a missing workflow file', async () => {
    const err = await readWorkflow(path.join(dir, 'absent.yml')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((err as AloftError).problems[0]).toMatchObject({
      where: path.join(dir, 'absent.yml'),
      message: 'workflow file not found',
    });
  });
});

describe('several problems', () => {
  it('are all reported at once, across the workflow and its catalogs', async () => {
    const { file, problems } = await problemsOf({
      'workflow.yml': [
        'pegasus: "5.0"',
        'name: bad',
        'jobs:',
        '  - id: ok1',
        '    name: t',
        '    uses:',
        '      - {lfn: ../up, type: input}',
        '      - {lfn: f.b, type: inout}',
        '  - id: "no way"',
        '    name: t',
        '    arguments: {x: y}',
        '  - name: t',
        'jobDependencies:',
        '  - {id: ok1, children: "ID2"}',
      ].join('\n'),
      'sites.yml': 'sites:\n  - {name: "a b"}\n',
    });
    const d = path.dirname(file);
    expect(problems.map((p) => p.where)).toEqual([
      `${file}: jobs[0].uses[0].lfn (job ok1)`,
      `${file}: jobs[0].uses[1].type (job ok1)`,
      `${file}: jobs[1].id (job no way)`,
      `${file}: jobs[1].arguments (job no way)`,
      `${file}: jobs[2].id`,
      `${file}: jobDependencies[0].children (job ok1)`,
      `${path.join(d, 'sites.yml')}: sites[0].name (site a b)`,
    ]);
    expect(problems[1]?.message).toMatch(/'inout' is not supported/);
  });
});
