/**
 * Crash and Ctrl-C safety of `aloft run` (the spawned binary): kill -9 mid-run and run the
 * same command again; SIGINT mid-run and run it again. Nothing done is redone, nothing is
 * done twice, no job process outlives the run.
 */
import { existsSync, rmSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { aloft, BIN } from './helpers/cli.js';
import type { JournalEvent } from '../services/journal/index.js';
import {
  journal,
  ofType,
  planJobs,
  processesWith,
  runDirs,
  spawnAloft,
  tmpDir,
  waitFor,
  write,
} from './run-helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: run 'npm run build' first`);
});

/**
 * `n` independent jobs, each `/bin/sleep <token>` (a duration unique to this test), and
 * optionally a first, long one (`/bin/sleep <long>`): it is surely running when the test
 * kills the run, and would outlive the kill by seconds if it were orphaned.
 */
function sleepers(dir: string, name: string, n: number, token: string, long?: string): string {
  const jobs = [
    ...(long ? [`  - { id: long, name: sleep, arguments: ["${long}"] }`] : []),
    ...Array.from(
      { length: n },
      (_, i) => `  - { id: s${String(i).padStart(2, '0')}, name: sleep, arguments: ["${token}"] }`,
    ),
  ].join('\n');
  return write(
    dir,
    `${name}.yml`,
    `pegasus: "5.0"
name: ${name}
transformationCatalog:
  transformations:
    - { name: sleep, sites: [{ name: local, pfn: /bin/sleep, type: installed }] }
jobs:
${jobs}
`,
  );
}

function succeededJobs(events: JournalEvent[]): string[] {
  return ofType(events, 'job_succeeded').map((e) => e.job);
}

/** No job that succeeded before `cut` started again after it; every job succeeded exactly once. */
function checkNothingRedone(events: JournalEvent[], cut: number, allJobs: string[]): void {
  const before = new Set(succeededJobs(events.slice(0, cut)));
  for (const e of ofType(events.slice(cut), 'attempt_started')) {
    expect(before.has(e.job), `job ${e.job} restarted after it had succeeded`).toBe(false);
  }
  const done = succeededJobs(events);
  expect(done.sort()).toEqual([...allJobs].sort());
  expect(new Set(done).size).toBe(done.length);
}

describe('aloft run under kill -9 and Ctrl-C', () => {
  it('resumes after kill -9 without redoing finished jobs, leaving no orphan processes', async () => {
    const dir = tmpDir('run-kill9');
    dirs.push(dir);
    const token = '0.3000173';
    const long = '6.0000173';
    const wf = sleepers(dir, 'sleepy', 30, token, long);
    const first = spawnAloft(['run', wf, '--slots', '2'], dir);
    let runDir = '';
    await waitFor(() => {
      runDir = runDirs(dir)[0] ?? '';
      return runDir !== '' && succeededJobs(journal(runDir)).length >= 5;
    }, '5 jobs to succeed');
    expect(processesWith(long).length).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    // Jobs die with the process that ran them (kickstart's parent-death signal).
    const jobProcesses = () => [...processesWith(token), ...processesWith(long)];
    await waitFor(() => jobProcesses().length === 0, 'job processes to die', 1000).catch(() => {
      throw new Error(`orphans survived kill -9: ${JSON.stringify(jobProcesses())}`);
    });
    const cut = journal(runDir).length;
    expect(cut).toBeGreaterThan(0);
    expect(succeededJobs(journal(runDir)).length).toBeLessThan(31);

    const second = await aloft(['run', wf, '--slots', '2'], { cwd: dir });
    expect(second.stderr).not.toContain('internal error');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`resuming ${runDir}`);
    expect(runDirs(dir)).toEqual([runDir]);
    const events = journal(runDir);
    const jobs = planJobs(runDir).map((j) => j.id);
    expect(jobs).toHaveLength(31);
    checkNothingRedone(events, cut, jobs);
    // Attempts the killed process left open were closed as cancelled on resume.
    const resumed = events.slice(cut);
    expect(resumed[0]).toMatchObject({ type: 'run_started', resumed: true });
    for (const e of ofType(resumed, 'job_retry')) expect(e).toMatchObject({ resume: true });
    expect(events[events.length - 1]).toMatchObject({ type: 'run_finished', state: 'succeeded' });
    expect(jobProcesses()).toEqual([]);
  });

  it('Ctrl-C stops cleanly with exit 130 and run_finished interrupted; the same command resumes and completes', async () => {
    const dir = tmpDir('run-sigint');
    dirs.push(dir);
    const token = '0.3000291';
    const wf = sleepers(dir, 'napping', 12, token);
    const first = spawnAloft(['run', wf, '--slots', '2'], dir);
    let runDir = '';
    await waitFor(() => {
      runDir = runDirs(dir)[0] ?? '';
      return runDir !== '' && succeededJobs(journal(runDir)).length >= 2;
    }, '2 jobs to succeed');
    first.child.kill('SIGINT');
    const exit = await first.exited;
    expect(exit.code).toBe(130);
    expect(first.stdout()).toContain('workflow napping interrupted');
    const ev1 = journal(runDir);
    expect(ev1[ev1.length - 1]).toMatchObject({ type: 'run_finished', state: 'interrupted' });
    // Whatever was running was killed, and its cancellation journaled.
    const started = ofType(ev1, 'attempt_started').length;
    expect(ofType(ev1, 'attempt_finished')).toHaveLength(started);
    expect(processesWith(token)).toEqual([]);

    const second = await aloft(['run', wf, '--slots', '2'], { cwd: dir });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`resuming ${runDir}`);
    checkNothingRedone(
      journal(runDir),
      ev1.length,
      planJobs(runDir).map((j) => j.id),
    );
  });
});
