/**
 * The projections on a real run: `aloft run` executes a small workflow in which one job
 * fails (`/bin/ls /nonexistent`, retried once) and one names an executable that does not
 * exist, then `aloft analyze | status | stats` explain it from the run directory that run
 * left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../proto/plan.js';
import { aloft, BIN, type CliResult } from './helpers/cli.js';

const WORKFLOW = `pegasus: "5.0"
name: failing
replicaCatalog:
  replicas:
    - lfn: words.txt
      pfns:
        - site: local
          pfn: words.txt
transformationCatalog:
  transformations:
    - name: sort
      sites:
        - name: local
          pfn: /usr/bin/sort
          type: installed
    - name: ls
      sites:
        - name: local
          pfn: /bin/ls
          type: installed
    - name: wc
      sites:
        - name: local
          pfn: /usr/bin/wc
          type: installed
    - name: ghost
      sites:
        - name: local
          pfn: /usr/bin/aloft-no-such-tool
          type: installed
jobs:
  - type: job
    name: sort
    id: sorter
    arguments: ["-o", "sorted.txt", "words.txt"]
    uses:
      - { lfn: words.txt, type: input }
      - { lfn: sorted.txt, type: output, stageOut: true, registerReplica: false }
  - type: job
    name: ls
    id: lister
    arguments: ["/nonexistent"]
    stdout: listing.txt
    profiles:
      dagman: { retry: "1" }
    uses:
      - { lfn: listing.txt, type: output, stageOut: false, registerReplica: false }
  - type: job
    name: wc
    id: counter
    arguments: ["-l", "listing.txt"]
    stdout: count.txt
    uses:
      - { lfn: listing.txt, type: input }
      - { lfn: count.txt, type: output, stageOut: true, registerReplica: false }
  - type: job
    name: ghost
    id: ghost
    arguments: ["--help"]
    profiles:
      dagman: { retry: "0" }
    uses: []
jobDependencies:
  - id: lister
    children: [counter]
`;

let dir: string;
let runDir: string;
let run: CliResult;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aloft-proj-run-'));
  await writeFile(path.join(dir, 'workflow.yml'), WORKFLOW);
  await writeFile(path.join(dir, 'words.txt'), 'pear\napple\nfig\n');
  runDir = path.join(dir, 'run');
  run = await aloft(
    ['run', 'workflow.yml', '--run-dir', runDir, '--output-dir', path.join(dir, 'out')],
    { cwd: dir, env: { ALOFT_RETRY_DELAY_MS: '10' } },
  );
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('projections of a real failed run', () => {
  it('the run fails because of the one failing job', () => {
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain('workflow failing failed');
    expect(existsSync(path.join(runDir, 'journal.jsonl'))).toBe(true);
  });

  it('analyze names the failing job, its exit code, stderr tail and a cause', async () => {
    const r = await aloft(['analyze', runDir, '--json']);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout);
    expect(v.state).toBe('failed');
    expect(v.failedJobs.map((f: { job: string }) => f.job).sort()).toEqual(['ghost', 'lister']);
    const f = v.failedJobs.find((j: { job: string }) => j.job === 'lister');
    expect(f).toMatchObject({
      job: 'lister',
      kind: 'compute',
      transformation: 'ls',
      attempts: 2,
      exitCode: 2,
    });
    expect(f.argv).toEqual(['/bin/ls', '/nonexistent']);
    expect(f.command).toBe('/bin/ls /nonexistent');
    expect(f.stderrTail).toContain('/nonexistent');
    expect(f.cause).toMatch(/^ls exited with code 2: it could not find \/nonexistent on agent /);
    expect(f.nextStep.length).toBeGreaterThan(10);
    expect(f.agent).toBeTruthy();
    expect(f.host).toBeTruthy();
    expect(f.cwd).toBeTruthy();
    expect(v.blocked.first).toContain('counter');

    const ghost = v.failedJobs.find((j: { job: string }) => j.job === 'ghost');
    expect(ghost.failure.kind).toBe('infrastructure');
    expect(ghost.cause).toMatch(
      /^the executable \/usr\/bin\/aloft-no-such-tool does not exist on agent /,
    );
    expect(ghost.nextStep).toContain('transformation catalog pfn of ghost');

    const text = await aloft(['analyze', runDir]);
    expect(text.stdout).toContain('== lister (compute, ls) ==');
    expect(text.stdout).toContain('cause      ls exited with code 2');
  });

  it('status counts the planned jobs by state', async () => {
    const plan = JSON.parse(await readFile(path.join(runDir, 'plan.json'), 'utf8')) as Plan;
    const r = await aloft(['status', runDir, '--json']);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout);
    expect(v.state).toBe('failed');
    expect(v.workflow).toBe('failing');
    expect(v.total).toBe(plan.jobs.length);
    expect(v.counts.failed).toBe(2);
    expect(v.counts.running).toBe(0);
    const blocked = plan.jobs.filter((j) => j.id === 'counter' || j.parents.includes('counter'));
    expect(v.counts.unready).toBeGreaterThanOrEqual(blocked.length);
    expect(v.counts.done + v.counts.failed + v.counts.unready + v.counts.ready).toBe(
      plan.jobs.length,
    );
    expect(v.byKind.compute).toMatchObject({ total: 4, done: 1, failed: 2, unready: 1 });
  });

  it('stats gives per-transformation numbers from the invocation records', async () => {
    const r = await aloft(['stats', runDir, '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    const byName = new Map(
      v.transformations.map((t: { transformation: string }) => [t.transformation, t]),
    );
    expect(byName.get('ls')).toMatchObject({ count: 2, succeeded: 0, failed: 2 });
    expect(byName.get('sort')).toMatchObject({ count: 1, succeeded: 1, failed: 0 });
    expect(byName.has('wc')).toBe(false);
    expect(v.jobs.byKind.compute).toMatchObject({ succeeded: 1, failed: 2, incomplete: 1 });
    // ls: 1 retry; the missing executable: infrastructure failures, retried for free
    const ghost = byName.get('ghost') as { count: number; failed: number };
    expect(ghost.count).toBe(ghost.failed);
    expect(v.jobs.byKind.compute.attempts).toBe(1 + 2 + ghost.count);
    expect(v.cumulativeBadputSec).toBeGreaterThan(0);
    expect(v.cumulativeJobWallSec).toBeGreaterThanOrEqual(v.cumulativeBadputSec);
    expect(v.wall.seconds).toBeGreaterThan(0);
    expect(v.agents.length).toBeGreaterThan(0);
    const csv = await aloft(['stats', runDir, '--csv']);
    expect(csv.stdout.split('\n').some((l) => l.startsWith('ls,2,0,2,'))).toBe(true);
  });
});

const SLOW = (seconds: string) => `pegasus: "5.0"
name: slow
transformationCatalog:
  transformations:
    - name: sleep
      sites:
        - name: local
          pfn: /bin/sleep
          type: installed
jobs:
  - { type: job, name: sleep, id: s1, arguments: ["${seconds}"], uses: [] }
  - { type: job, name: sleep, id: s2, arguments: ["${seconds}"], uses: [] }
  - { type: job, name: sleep, id: s3, arguments: ["${seconds}"], uses: [] }
jobDependencies:
  - { id: s1, children: [s2] }
  - { id: s2, children: [s3] }
`;

/** Start `aloft run` as a process and wait until its journal shows an attempt started. */
async function startRun(
  name: string,
  seconds: string,
): Promise<{ child: ChildProcess; runDir: string }> {
  const wd = path.join(dir, name);
  await mkdir(wd, { recursive: true });
  await writeFile(path.join(wd, 'workflow.yml'), SLOW(seconds));
  const rd = path.join(wd, 'run');
  const child = spawn(process.execPath, [BIN, 'run', 'workflow.yml', '--run-dir', rd], {
    cwd: wd,
    stdio: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = await readFile(path.join(rd, 'journal.jsonl'), 'utf8').catch(() => '');
    if (text.includes('"attempt_started"')) break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error('aloft run did not start');
    await sleep(50);
  }
  return { child, runDir: rd };
}

describe('status of a live run', () => {
  it('status -w follows a real run until it succeeds', async () => {
    const { child, runDir: rd } = await startRun('watched', '0.4');
    const exited = once(child, 'exit');
    const r = await aloft(['status', rd, '-w', '--json'], { timeoutMs: 60_000 });
    const [code] = await exited;
    expect(code).toBe(0);
    expect(r.code).toBe(0);
    const views = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(views[0].state).toBe('running');
    expect(views[0].counts.running).toBe(1);
    expect(views.at(-1)).toMatchObject({ state: 'succeeded', percent: 100 });
    expect(views.at(-1).counts.done).toBe(views.at(-1).total);
  });

  it('a run killed with SIGKILL reads as interrupted, its attempt no longer running', async () => {
    const { child, runDir: rd } = await startRun('killed', '5');
    const live = JSON.parse((await aloft(['status', rd, '--json'])).stdout);
    expect(live.state).toBe('running');
    expect(live.counts.running).toBe(1);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    const r = await aloft(['status', rd, '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.state).toBe('interrupted');
    expect(v.detail).toMatch(/^process gone/);
    expect(v.counts).toMatchObject({ running: 0, ready: 1, unready: 2 });
  });
});
