/**
 * `aloft plan` and `aloft validate` as a user runs them: the built binary, real files in a
 * temporary directory, the shared Pegasus and WfCommons fixtures.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aloft, SHARED } from './helpers/cli.js';

const BLACKDIAMOND = path.join(
  SHARED,
  'workflows/pegasus/pegasus-test052-blackdiamond/workflow.yml',
);
const FORKJOIN = path.join(
  SHARED,
  'workflows/wfcommons/helloworld/helloworld-forkjoin-10-chameleon.json',
);
const CYCLES_GZ = path.join(
  SHARED,
  'workflows/wfcommons/pegasus/cycles/cycles-chameleon-1l-3c-12p-001.json.gz',
);
const haveShared = existsSync(BLACKDIAMOND);

const TC = `pegasus: "5.0"
transformations:
  - namespace: pegasus
    name: preprocess
    version: "4.0"
    sites: [{name: condorpool, pfn: /usr/bin/preprocess, type: installed}]
  - namespace: pegasus
    name: findrange
    version: "4.0"
    sites: [{name: condorpool, pfn: /usr/bin/findrange, type: installed}]
  - namespace: pegasus
    name: analyze
    version: "4.0"
    sites: [{name: condorpool, pfn: /usr/bin/analyze, type: installed}]
`;
const RC = `pegasus: "5.0"
replicas:
  - lfn: f.a
    pfns: [{pfn: /data/f.a, site: local}]
`;
const CYCLE = `pegasus: "5.0"
name: loop
jobs:
  - {type: job, id: A, name: t, uses: [{lfn: a, type: output}, {lfn: c, type: input}]}
  - {type: job, id: B, name: t, uses: [{lfn: a, type: input}, {lfn: b, type: output}]}
  - {type: job, id: C, name: t, uses: [{lfn: b, type: input}, {lfn: c, type: output}]}
transformationCatalog:
  transformations:
    - name: t
      sites: [{name: local, pfn: /bin/true, type: installed}]
`;

let dir: string;
let tc: string;
let rc: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-plan-cli-'));
  tc = path.join(dir, 'tc.yml');
  rc = path.join(dir, 'rc.yml');
  await writeFile(tc, TC);
  await writeFile(rc, RC);
  await writeFile(path.join(dir, 'loop.yml'), CYCLE);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!haveShared)('aloft plan on the Pegasus black diamond (test 052)', () => {
  const args = (...extra: string[]) => [
    'plan',
    BLACKDIAMOND,
    '--transformations',
    tc,
    '--replicas',
    rc,
    ...extra,
  ];

  test('--json prints one object with jobs and planned counts of every kind', async () => {
    const r = await aloft(args('--json'), { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!);
    expect(out).toMatchObject({
      workflow: 'blackdiamond',
      jobs: 4,
      planned: {
        compute: 4,
        stage_in: 1,
        stage_out: 4,
        inter_site: 0,
        register: 4,
        cleanup: 6,
        cluster: 0,
      },
      skipped: 0,
      sites: { condorpool: 4 },
    });
  });

  test('--output writes the full plan, --dot a graph, and the summary is human text', async () => {
    const planFile = path.join(dir, 'plan.json');
    const dotFile = path.join(dir, 'plan.dot');
    const r = await aloft(args('--output', 'plan.json', '--dot', 'plan.dot', '--explain'), {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^planned blackdiamond: 4 jobs -> 19 planned jobs/);
    expect(r.stdout).toContain('sites:   condorpool (4)');
    expect(r.stdout).toContain(
      'placed on condorpool: transformation pegasus::preprocess:4.0 installed there',
    );
    const plan = JSON.parse(await readFile(planFile, 'utf8'));
    expect(plan.format).toBe('aloft-plan/1');
    expect(plan.jobs).toHaveLength(19);
    const id4 = plan.jobs.find((j: { id: string }) => j.id === 'ID0000004');
    expect(id4.executable.pfn).toBe('/usr/bin/analyze');
    expect(id4.args).toEqual(['-a', 'analyze', '-T10', '-i', 'f.c1', 'f.c2', '-o', 'f.d']);
    expect(plan.stores.condorpool).toBe(`file://${dir}/aloft-stores/condorpool/`);
    const dot = await readFile(dotFile, 'utf8');
    expect(dot).toContain('"ID0000001" -> "ID0000002";');
  });

  test('--reuse skips jobs whose outputs are already in the output store', async () => {
    const reuseDir = await mkdtemp(path.join(dir, 'reuse-'));
    await mkdir(path.join(reuseDir, 'aloft-stores', 'output'), { recursive: true });
    await writeFile(path.join(reuseDir, 'aloft-stores', 'output', 'f.d'), 'old result');
    const r = await aloft(args('--reuse', '--json', '--explain'), { cwd: reuseDir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.skipped).toBe(1);
    expect(out.planned.compute).toBe(3);
    expect(out.reasons).toContainEqual({
      subject: 'ID0000004',
      decision: 'skip',
      message: 'outputs f.d already exist (output store)',
    });
    const forced = await aloft(args('--reuse', '--force', '--json'), { cwd: reuseDir });
    expect(JSON.parse(forced.stdout).skipped).toBe(0);
  });

  test('planning twice writes byte-identical plans', async () => {
    await aloft(args('--output', 'p1.json'), { cwd: dir });
    await aloft(args('--output', 'p2.json'), { cwd: dir });
    const [a, b] = await Promise.all([
      readFile(path.join(dir, 'p1.json'), 'utf8'),
      readFile(path.join(dir, 'p2.json'), 'utf8'),
    ]);
    expect(a.length).toBeGreaterThan(1000);
    expect(a).toBe(b);
  });

  test('without catalogs every problem is reported at once, exit 2', async () => {
    const r = await aloft(['plan', BLACKDIAMOND], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'transformation pegasus::preprocess:4.0 is not in the transformation catalog',
    );
    expect(r.stderr).toContain(
      'input f.a is produced by no job and has no replica (needed by ID0000001)',
    );
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  test('--sites with no site able to run the jobs names the sites', async () => {
    const r = await aloft(args('--sites', 'hpc'), { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'no site can run job ID0000001: transformation pegasus::preprocess:4.0 is installed on sites [condorpool], --sites allows [hpc]',
    );
  });

  test('validate prints the counts', async () => {
    const r = await aloft(['validate', BLACKDIAMOND, '--transformations', tc, '--replicas', rc]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('valid: 4 jobs, 4 edges, 6 files\n');
  });
});

describe.skipIf(!haveShared)('aloft plan on WfCommons traces', () => {
  test('a trace is detected by content and planned with made-up catalogs on local', async () => {
    const r = await aloft(['plan', '--json', FORKJOIN], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.jobs).toBe(10);
    expect(out.planned.compute).toBe(10);
    expect(out.sites).toEqual({ local: 10 });
  });

  test('a gzipped trace too', async () => {
    const r = await aloft(['validate', CYCLES_GZ], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^valid: 657 jobs, \d+ edges, \d+ files\n$/);
  });
});

describe('aloft validate and plan: bad input', () => {
  test('a cycle is printed and exits 2', async () => {
    const r = await aloft(['validate', 'loop.yml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('loop.yml: job A: cycle: A -> B -> C -> A');
  });

  test('a missing workflow file', async () => {
    const r = await aloft(['plan', 'nope.yml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: no such workflow file nope.yml\n');
  });

  test('bad flag values are all reported at once', async () => {
    const r = await aloft(
      [
        'plan',
        'loop.yml',
        '--cleanup',
        'sometimes',
        '--cluster',
        'vertical,label',
        '--sites',
        'a/b',
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "aloft plan --cleanup: 'sometimes' is not one of inplace, leaf, constraint, none",
    );
    expect(r.stderr).toContain("aloft plan --cluster: 'vertical' is not one of horizontal, label");
    expect(r.stderr).toContain('aloft plan --sites: site name "a/b" may contain only');
  });

  test('--help describes the flags', async () => {
    const r = await aloft(['plan', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--json',
      '--explain',
      '--dot',
      '--output',
      '--sites',
      '--cluster',
      '--reuse',
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });
});
