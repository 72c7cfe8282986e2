/**
 * `aloft run` end to end: the built binary, the real planner, engine, journal and agent,
 * real processes on real files.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { aloft, BIN } from './helpers/cli.js';
import { journal, ofType, planJobs, runDirs, tmpDir, write } from './run-helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: run 'npm run build' first`);
});

const ENV = { ALOFT_RETRY_DELAY_MS: '10' };

/** A diamond of /usr/bin and /bin tools: cat -> (tr, sort) -> cat -> wc. */
function diamond(dir: string): string {
  write(dir, 'f.a', 'hello world\nfoo bar\nbaz\n');
  return write(
    dir,
    'diamond.yml',
    `pegasus: "5.0"
name: diamond
replicaCatalog:
  replicas:
    - lfn: f.a
      pfns: [{ site: local, pfn: ${path.join(dir, 'f.a')} }]
transformationCatalog:
  transformations:
    - { name: cat, sites: [{ name: local, pfn: /bin/cat, type: installed }] }
    - { name: tr, sites: [{ name: local, pfn: /usr/bin/tr, type: installed }] }
    - { name: sort, sites: [{ name: local, pfn: /usr/bin/sort, type: installed }] }
    - { name: wc, sites: [{ name: local, pfn: /usr/bin/wc, type: installed }] }
jobs:
  - id: top
    name: cat
    arguments: [f.a]
    stdout: f.b
    uses: [{ lfn: f.a, type: input }, { lfn: f.b, type: output, stageOut: false, registerReplica: false }]
  - id: left
    name: tr
    arguments: [a-z, A-Z]
    stdin: f.b
    stdout: f.c1
    uses: [{ lfn: f.b, type: input }, { lfn: f.c1, type: output, stageOut: false, registerReplica: false }]
  - id: right
    name: sort
    arguments: [f.b]
    stdout: f.c2
    uses: [{ lfn: f.b, type: input }, { lfn: f.c2, type: output, stageOut: false, registerReplica: false }]
  - id: bottom
    name: cat
    arguments: [f.c1, f.c2]
    stdout: f.d
    uses: [{ lfn: f.c1, type: input }, { lfn: f.c2, type: input }, { lfn: f.d, type: output }]
  - id: count
    name: wc
    arguments: [-l]
    stdin: f.d
    stdout: f.e
    uses: [{ lfn: f.d, type: input }, { lfn: f.e, type: output }]
`,
  );
}

describe('aloft run', () => {
  it('runs a diamond of real tools; outputs, journal, run dir and output replica catalog are right', async () => {
    const dir = tmpDir('run-diamond');
    dirs.push(dir);
    const wf = diamond(dir);
    const r = await aloft(['run', wf, '--slots', '2'], { cwd: dir, env: ENV });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const runDir = path.join(dir, 'runs', 'diamond-001');
    expect(r.stdout).toContain('workflow diamond succeeded:');
    expect(r.stdout).toContain(`outputs in ${path.join(dir, 'outputs')}`);
    expect(r.stdout).toContain(`run dir ${runDir}`);
    expect(readFileSync(path.join(dir, 'outputs', 'f.d'), 'utf8')).toBe(
      'HELLO WORLD\nFOO BAR\nBAZ\nbaz\nfoo bar\nhello world\n',
    );
    expect(readFileSync(path.join(dir, 'outputs', 'f.e'), 'utf8').trim()).toBe('6');
    expect(existsSync(path.join(dir, 'outputs', 'f.b'))).toBe(false);

    for (const f of ['plan.json', 'run.json', 'journal.jsonl', 'output-replicas.yml']) {
      expect(existsSync(path.join(runDir, f))).toBe(true);
    }
    const info = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ workflow: { name: 'diamond', path: wf } });
    const ev = journal(runDir);
    const jobs = planJobs(runDir);
    expect(
      ofType(ev, 'job_succeeded')
        .map((e) => e.job)
        .sort(),
    ).toEqual(jobs.map((j) => j.id).sort());
    expect(ev[ev.length - 1]).toMatchObject({ type: 'run_finished', state: 'succeeded' });
    const compute = ofType(ev, 'attempt_finished').find((e) => e.job === 'count')!;
    expect(compute.record.argv).toEqual(['/usr/bin/wc', '-l']);
    expect(compute.record.exitCode).toBe(0);

    const rc = yaml.load(readFileSync(path.join(runDir, 'output-replicas.yml'), 'utf8')) as {
      pegasus: string;
      replicas: {
        lfn: string;
        pfns: { site: string; pfn: string }[];
        checksum?: { sha256: string };
      }[];
    };
    expect(rc.pegasus).toBe('5.0');
    const fd = rc.replicas.find((x) => x.lfn === 'f.d')!;
    expect(fd.pfns[0]!.pfn).toContain(path.join(dir, 'outputs', 'f.d'));
    const { createHash } = await import('node:crypto');
    expect(fd.checksum?.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(path.join(dir, 'outputs', 'f.d')))
        .digest('hex'),
    );
    expect(rc.replicas.map((x) => x.lfn).sort()).toEqual(['f.d', 'f.e']);

    // Running the same command again makes a new run; --run-dir of the finished one is complete.
    const again = await aloft(['run', wf, '--run-dir', runDir], { cwd: dir, env: ENV });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already complete');

    // --reuse: a new run that skips every job whose outputs the first run registered.
    const reuse = await aloft(['run', wf, '--reuse'], { cwd: dir, env: ENV });
    expect(reuse.code).toBe(0);
    const second = path.join(dir, 'runs', 'diamond-002');
    expect(reuse.stdout).toContain(`run dir ${second}`);
    expect(reuse.stdout).toContain('5 jobs skipped');
    expect(planJobs(second)).toEqual([]);
    expect(readFileSync(path.join(dir, 'outputs', 'f.e'), 'utf8').trim()).toBe('6');
  });

  it('a failing job is retried, fails the run, spares independent work, never starts descendants; fixed, the same command resumes', async () => {
    const dir = tmpDir('run-fail');
    dirs.push(dir);
    write(dir, 'f.a', 'independent\n');
    const fx = write(dir, 'f.x', 'b\na\n'); // unsorted: sort -c exits 1
    const wf = write(
      dir,
      'wf.yml',
      `pegasus: "5.0"
name: fails
replicaCatalog:
  replicas:
    - { lfn: f.a, pfns: [{ site: local, pfn: ${path.join(dir, 'f.a')} }] }
    - { lfn: f.x, pfns: [{ site: local, pfn: ${fx} }] }
transformationCatalog:
  transformations:
    - { name: sort, sites: [{ name: local, pfn: /usr/bin/sort, type: installed }] }
    - { name: cat, sites: [{ name: local, pfn: /bin/cat, type: installed }] }
    - { name: tr, sites: [{ name: local, pfn: /usr/bin/tr, type: installed }] }
jobs:
  - id: check
    name: sort
    arguments: [-c, f.x]
    stdout: f.ok
    profiles: { dagman: { retry: "2" } }
    uses: [{ lfn: f.x, type: input, bypass: true }, { lfn: f.ok, type: output, stageOut: false, registerReplica: false }]
  - id: after
    name: cat
    arguments: [f.ok]
    stdout: f.after
    uses: [{ lfn: f.ok, type: input }, { lfn: f.after, type: output }]
  - id: indep
    name: tr
    arguments: [a-z, A-Z]
    stdin: f.a
    stdout: f.ind
    uses: [{ lfn: f.a, type: input }, { lfn: f.ind, type: output }]
`,
    );
    const r1 = await aloft(['run', wf, '--slots', '2'], { cwd: dir, env: ENV });
    expect(r1.code).toBe(1);
    const runDir = path.join(dir, 'runs', 'fails-001');
    expect(r1.stdout).toContain('workflow fails failed:');
    expect(r1.stdout).toContain(`run 'aloft analyze ${runDir}' for details`);
    expect(r1.stdout).toContain('run the same command again to resume');
    const ev1 = journal(runDir);
    expect(
      ofType(ev1, 'attempt_started')
        .filter((e) => e.job === 'check')
        .map((e) => e.attempt),
    ).toEqual([1, 2, 3]);
    expect(
      ofType(ev1, 'attempt_finished')
        .filter((e) => e.job === 'check')
        .every((e) => e.record.exitCode === 1),
    ).toBe(true);
    expect(ofType(ev1, 'job_failed').map((e) => e.job)).toEqual(['check']);
    expect(ofType(ev1, 'attempt_started').some((e) => e.job === 'after')).toBe(false);
    expect(ofType(ev1, 'job_succeeded').some((e) => e.job === 'indep')).toBe(true);
    expect(readFileSync(path.join(dir, 'outputs', 'f.ind'), 'utf8')).toBe('INDEPENDENT\n');
    expect(ev1[ev1.length - 1]).toMatchObject({ type: 'run_finished', state: 'failed' });

    writeFileSync(fx, 'a\nb\n');
    const r2 = await aloft(['run', wf, '--slots', '2'], { cwd: dir, env: ENV });
    expect(r2.code).toBe(0);
    expect(r2.stdout).toContain(`resuming ${runDir}`);
    expect(runDirs(dir)).toEqual([runDir]);
    const ev = journal(runDir);
    const second = ev.slice(ev1.length);
    const doneBefore = new Set(ofType(ev1, 'job_succeeded').map((e) => e.job));
    expect(doneBefore.has('indep')).toBe(true);
    for (const e of ofType(second, 'attempt_started')) expect(doneBefore.has(e.job)).toBe(false);
    expect(ofType(second, 'job_retry')).toMatchObject([
      { job: 'check', nextAttempt: 4, resume: true },
    ]);
    expect(ofType(second, 'job_succeeded').map((e) => e.job)).toEqual(
      expect.arrayContaining(['check', 'after']),
    );
    expect(readFileSync(path.join(dir, 'outputs', 'f.after'), 'utf8')).toBe('');
    const all = ofType(ev, 'job_succeeded').map((e) => e.job);
    expect(new Set(all).size).toBe(all.length);
  });

  it('refuses a --run-dir holding a different plan, and a bad --slots, with exit 2', async () => {
    const dir = tmpDir('run-bad');
    dirs.push(dir);
    const wf = diamond(dir);
    const runDir = path.join(dir, 'mine');
    // Make the run dir hold a run that did not finish: an interrupted first attempt.
    const r1 = await aloft(['run', wf, '--run-dir', runDir], { cwd: dir, env: ENV });
    expect(r1.code).toBe(0);
    writeFileSync(path.join(runDir, 'journal.jsonl'), '');
    writeFileSync(wf, readFileSync(wf, 'utf8').replace('arguments: [-l]', 'arguments: [-c]'));
    const r2 = await aloft(['run', wf, '--run-dir', runDir], { cwd: dir, env: ENV });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(
      `run dir ${runDir} holds a different plan (workflow changed); use a new --run-dir`,
    );
    const r3 = await aloft(['run', wf, '--slots', '0'], { cwd: dir, env: ENV });
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('--slots');
  });
});
