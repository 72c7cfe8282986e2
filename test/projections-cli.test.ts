/**
 * `aloft status | analyze | stats` as real processes (the built binary) on run directories
 * written through the real journal module: JSON and text output, exit codes, bad input,
 * a torn journal tail, liveness (interrupted vs running) and `status --watch` following a
 * run that a separate writer process is journaling.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Failure } from '../proto/attempt.js';
import { aloft, REPO } from './helpers/cli.js';
import { EventLog, job, plan, writeRunDirViaJournal } from './helpers/run-fixtures.js';

let root: string;
let failedRun: string;

const notFound: Failure = {
  kind: 'application',
  message: 'exited with code 2',
};

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'aloft-proj-'));
  const p = plan(
    [
      job('stage_in_a', [], { kind: 'stage_in', executable: undefined }),
      job('list', ['stage_in_a'], {
        executable: { name: 'ls', pfn: '/bin/ls', type: 'installed' },
      }),
      job('count', ['list'], { executable: { name: 'wc', pfn: '/usr/bin/wc', type: 'installed' } }),
      job('side', ['stage_in_a'], {
        executable: { name: 'cat', pfn: '/bin/cat', type: 'installed' },
      }),
      job('never', []),
    ],
    'demo',
  );
  const lsRec = {
    argv: ['/bin/ls', '/nonexistent'],
    exitCode: 2,
    durationMs: 20,
    stderrTail: "/bin/ls: cannot access '/nonexistent': No such file or directory\n",
    stdoutTail: '',
  };
  const log = new EventLog()
    .start(false, 5, 'demo')
    .started('stage_in_a', 1, 'stage_in')
    .succeed('stage_in_a', 1, {
      executor: 'transfer',
      durationMs: 300,
      transfers: [
        {
          lfn: 'a',
          src: 'file:///x/a',
          dst: 'file:///s/a',
          bytes: 4096,
          durationMs: 5,
          sha256: 'ab',
        },
      ],
    })
    .started('list')
    .started('side')
    .fail('list', 1, notFound, lsRec, 'retry')
    .succeed('side', 1, {
      durationMs: 1500,
      files: [{ lfn: 'side.out', link: 'output', size: 3, sha256: 'cd' }],
    })
    .started('list', 2)
    .fail('list', 2, notFound, lsRec, 'failed')
    .finish('failed');
  failedRun = await writeRunDirViaJournal(path.join(root, 'demo-001'), p, log.events);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('aloft status | analyze | stats on a failed run', () => {
  it('status --json gives state, counts by state and kind, percent; exit 1', async () => {
    const r = await aloft(['status', failedRun, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({
      state: 'failed',
      workflow: 'demo',
      runDir: failedRun,
      total: 5,
      percent: 40,
      counts: { unready: 1, ready: 1, running: 0, done: 2, failed: 1 },
    });
    expect(v.byKind).toEqual({
      compute: { unready: 1, ready: 1, running: 0, retrying: 0, done: 1, failed: 1, total: 4 },
      stage_in: { unready: 0, ready: 0, running: 0, retrying: 0, done: 1, failed: 0, total: 1 },
    });
  });

  it('status text shows the bar and the table', async () => {
    const r = await aloft(['status', failedRun]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('state    failed');
    expect(r.stdout).toContain('[########............] 40% (2/5)');
    expect(r.stdout).toMatch(/^total\s+1\s+1\s+0\s+0\s+2\s+1\s+5$/m);
  });

  it('analyze --json names the failed job, its exit code, stderr tail and a cause; exit 1', async () => {
    const r = await aloft(['analyze', failedRun, '--json']);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout);
    expect(v.summary).toEqual({
      total: 5,
      succeeded: 2,
      failed: 1,
      unsubmitted: 2,
      running: 0,
      retrying: 0,
    });
    expect(v.failedJobs).toHaveLength(1);
    const f = v.failedJobs[0];
    expect(f).toMatchObject({
      job: 'list',
      transformation: 'ls',
      exitCode: 2,
      attempts: 2,
      command: '/bin/ls /nonexistent',
      agent: 'local',
    });
    expect(f.stderrTail).toContain("cannot access '/nonexistent'");
    expect(f.cause).toMatch(
      /^ls exited with code 2: it could not find \/nonexistent on agent local/,
    );
    expect(f.nextStep).not.toBe('');
    expect(v.blocked).toEqual({ count: 1, first: ['count'] });
  });

  it('analyze text reads like pegasus-analyzer', async () => {
    const r = await aloft(['analyze', failedRun]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('== list (compute, ls) ==');
    expect(r.stdout).toContain('cause      ls exited with code 2');
    expect(r.stdout).toContain(
      "    | /bin/ls: cannot access '/nonexistent': No such file or directory",
    );
    expect(r.stdout).toContain('1 job(s) never ran because an ancestor failed: count');
  });

  it('stats --json and --csv give per-transformation numbers; exit 0', async () => {
    const r = await aloft(['stats', failedRun, '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    const ls = v.transformations.find((t: { transformation: string }) => t.transformation === 'ls');
    expect(ls).toMatchObject({
      count: 2,
      succeeded: 0,
      failed: 2,
      minRuntimeSec: 0.02,
      maxRuntimeSec: 0.02,
    });
    expect(v.cumulativeBadputSec).toBe(0.04);
    expect(v.cumulativeJobWallSec).toBe(1.84);
    expect(v.transfers.bytes).toBe(4096);
    expect(v.integrity).toEqual({ outputFiles: 1, withSha256: 1, withoutSha256: 0 });
    expect(v.jobs.total).toMatchObject({ succeeded: 2, failed: 1, total: 5, retries: 1 });

    const csv = await aloft(['stats', failedRun, '--csv']);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^transformation,count,succeeded,failed,/);
    expect(lines).toContain('ls,2,0,2,0.02,0.02,0.02,2,0.3');

    const text = await aloft(['stats', failedRun]);
    expect(text.stdout).toMatch(/^ls\s+2\s+0\s+2\s+0\.020\s+0\.020\s+0\.020\s+2\.0\s+0\.300$/m);
  });
});

describe('bad input is exit 2 with a message that says what to pass', () => {
  for (const cmd of ['status', 'analyze', 'stats']) {
    it(`${cmd}: not a run directory`, async () => {
      const empty = path.join(root, `empty-${cmd}`);
      await mkdir(empty, { recursive: true });
      for (const dir of [empty, path.join(root, 'does-not-exist')]) {
        const r = await aloft([cmd, dir]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`${dir} is not an aloft run directory (no journal.jsonl)`);
        expect(r.stderr).toContain("pass the directory 'aloft run' printed");
        expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      }
      expect((await aloft([cmd])).code).toBe(2);
      expect((await aloft([cmd, failedRun, '--bogus'])).code).toBe(2);
    });
  }

  it('stats --json --csv conflict', async () => {
    const r = await aloft(['stats', failedRun, '--json', '--csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--json and --csv are mutually exclusive');
  });

  it('a damaged plan.json', async () => {
    const dir = path.join(root, 'bad-plan');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'journal.jsonl'), '');
    await writeFile(path.join(dir, 'plan.json'), '{"format":"something-else"}');
    const r = await aloft(['status', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not an aloft plan');
  });
});

describe('interrupted, running, torn', () => {
  async function halfRun(name: string): Promise<string> {
    const p = plan([job('a'), job('b', ['a'])], 'half');
    const log = new EventLog().start(false, 2, 'half').started('a').succeed('a').started('b');
    return writeRunDirViaJournal(path.join(root, name), p, log.events);
  }

  it('no run_finished and a lock naming a dead pid → interrupted, running counted as ready', async () => {
    const dir = await halfRun('killed');
    const dead = spawn(process.execPath, ['-e', '0']);
    await once(dead, 'exit');
    await writeFile(path.join(dir, 'lock'), `${dead.pid}\n`);
    const r = await aloft(['status', dir, '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.state).toBe('interrupted');
    expect(v.detail).toContain('process gone');
    expect(v.counts).toMatchObject({ done: 1, ready: 1, running: 0 });
    const text = await aloft(['status', dir]);
    expect(text.stdout).toContain("run the same 'aloft run' command again to resume");
  });

  it('a lock naming a live process → running', async () => {
    const dir = await halfRun('live');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(path.join(dir, 'lock'), `${sleeper.pid}\n`);
      const v = JSON.parse((await aloft(['status', dir, '--json'])).stdout);
      expect(v.state).toBe('running');
      expect(v.counts).toMatchObject({ done: 1, running: 1 });
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('a torn last line is ignored, not a crash', async () => {
    const dir = await halfRun('torn');
    await appendFile(path.join(dir, 'journal.jsonl'), '{"type":"job_succeeded","job":"b","att');
    for (const cmd of ['status', 'analyze', 'stats']) {
      const r = await aloft([cmd, dir, '--json']);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
    }
    const v = JSON.parse((await aloft(['status', dir, '--json'])).stdout);
    expect(v.counts.done).toBe(1);
  });

  it('damage in the middle is skipped with a warning: a broken run can still be analyzed', async () => {
    const dir = await halfRun('damaged');
    const file = path.join(dir, 'journal.jsonl');
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.splice(2, 0, '\u0000\u0000garbage');
    await writeFile(file, lines.join('\n'));
    for (const cmd of ['status', 'analyze', 'stats']) {
      const r = await aloft([cmd, dir]);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toContain('warning: skipped 1 line(s) of journal.jsonl');
    }
  });
});

describe('status --watch', () => {
  it('follows a live run until it ends, one JSON line per change', async () => {
    const dir = path.join(root, 'watched');
    const p = plan([job('a'), job('b', ['a'])], 'watched');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'plan.json'), JSON.stringify(p));
    await writeFile(path.join(dir, 'journal.jsonl'), '');
    // A separate process journals a run through the real journal and lock, slowly.
    const journalMod = pathToFileURL(path.join(REPO, 'dist/services/journal/index.js')).href;
    const runMod = pathToFileURL(path.join(REPO, 'dist/services/run/index.js')).href;
    const script = `
      import { openJournal } from ${JSON.stringify(journalMod)};
      import { lockRunDir } from ${JSON.stringify(runMod)};
      import { setTimeout as sleep } from 'node:timers/promises';
      const dir = process.argv[1];
      const lock = await lockRunDir(dir);
      const j = await openJournal(dir);
      const rec = (job) => ({ job, attempt: 1, agent: 'local', site: 'local', host: 'h', user: 'u',
        executor: 'process', argv: ['/bin/true'], cwd: '/', start: new Date().toISOString(),
        durationMs: 1, exitCode: 0, signal: null, utimeMs: 0, stimeMs: 0, maxRssKb: 1,
        stdoutTail: '', stderrTail: '', stdoutBytes: 0, stderrBytes: 0, files: [], transfers: [] });
      const started = (job) => ({ type: 'attempt_started', job, kind: 'compute', attempt: 1, epoch: 1, agent: 'local', site: 'local', host: 'h' });
      const done = async (job) => {
        await j.append({ type: 'attempt_finished', job, attempt: 1, epoch: 1, ok: true, record: rec(job) });
        await j.append({ type: 'job_succeeded', job, attempt: 1 });
      };
      await j.append({ type: 'run_started', runId: 'w', workflow: 'watched', planDigest: 'x', jobs: 2, resumed: false });
      process.stdout.write('started\\n');
      await j.append(started('a'));
      await sleep(1500);
      await done('a');
      await j.append(started('b'));
      await sleep(1500);
      await done('b');
      await j.append({ type: 'run_finished', state: 'succeeded' });
      await j.close();
      await lock.release();
    `;
    const writer = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(writer, 'exit');
    await new Promise<void>((resolve, reject) => {
      writer.stdout!.once('data', () => resolve());
      writer.once('exit', (code) => reject(new Error(`journal writer exited early (${code})`)));
    });
    const r = await aloft(['status', dir, '--watch', '--json'], { timeoutMs: 30_000 });
    const [writerCode] = await exited;
    expect(writerCode).toBe(0);
    expect(r.code).toBe(0);
    const views = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(views.length).toBeGreaterThanOrEqual(3);
    expect(views[0].state).toBe('running');
    expect(views.at(-1)).toMatchObject({ state: 'succeeded', percent: 100, counts: { done: 2 } });
    // Every line is a change: no two consecutive views are equal.
    for (let i = 1; i < views.length; i++) expect(views[i]).not.toEqual(views[i - 1]);
    const dones = views.map((v) => v.counts.done);
    expect(dones).toEqual([...dones].sort());
  });
});
