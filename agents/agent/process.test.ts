/**
 * The agent running compute jobs with the process executor, driven through a real
 * in-process transport with the protocol messages; real processes, real files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../test/helpers/cli.js';
import { createProcessExecutor } from '../executors/index.js';
import { processJob, startTestAgent, type TestAgent } from '../testing/index.js';

const LAUNCHER = path.join(REPO, 'dist', 'bin', 'aloft-launcher');
const url = (p: string): string => pathToFileURL(p).href;

beforeAll(() => {
  execFileSync('bash', [path.join(REPO, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
});

/** Poll until `file` exists (a job's "I am running" marker). */
async function waitForFile(file: string, timeoutMs = 20_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !existsSync(file);) {
    if (Date.now() > end) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let t: TestAgent | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Both modes: through aloft-launcher (when it could be built) and the direct-spawn fallback. */
const modes = [
  { name: 'launcher', launcher: true },
  { name: 'fallback', launcher: false },
] as const;

describe.each(modes)('process executor ($name)', ({ launcher }) => {
  async function start(extra: Parameters<typeof startTestAgent>[0] = {}): Promise<TestAgent> {
    if (launcher && !existsSync(LAUNCHER)) throw new Error('aloft-launcher was not built');
    t = await startTestAgent({
      executors: { process: createProcessExecutor(launcher ? {} : { launcher: false }) },
      ...extra,
    });
    return t;
  }

  it('passes argv literally, without a shell', async () => {
    const { driver } = await start();
    const tricky = ['a b', "it's", '"q"', '$(rm -rf /)', '`id`', '*', '; echo no'];
    const { key, reply } = await driver.offer(
      processJob('argv', ['/usr/bin/printf', '[%s]\\n', ...tricky]),
    );
    expect(reply).toEqual({ accepted: true });
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(true);
    expect(outcome.record.stdoutTail).toBe(tricky.map((a) => `[${a}]\n`).join(''));
    expect(outcome.record.argv).toEqual(['/usr/bin/printf', '[%s]\\n', ...tricky]);
    expect(outcome.record.executor).toBe('process');
    expect(outcome.record.exitCode).toBe(0);
  });

  it('reports a non-zero exit code as an application failure', async () => {
    const { driver } = await start();
    const { key } = await driver.offer(processJob('exit3', ['/bin/sh', '-c', 'exit 3']));
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.failure.kind).toBe('application');
    expect(outcome.failure.message).toMatch(/job exit3 \(\/bin\/sh\) exited with code 3/);
    expect(outcome.record.exitCode).toBe(3);
    expect(outcome.record.signal).toBeNull();
  });

  it('reports death by signal', async () => {
    const { driver } = await start();
    const { key } = await driver.offer(processJob('sig', ['/bin/sh', '-c', 'kill -SEGV $$']));
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.failure.kind).toBe('application');
    expect(outcome.failure.message).toMatch(/killed by signal SIGSEGV/);
    expect(outcome.record.signal).toBe('SIGSEGV');
    expect(outcome.record.exitCode).toBeNull();
  });

  it('records stdout/stderr tails (last 4 KiB) and byte counts', async () => {
    const { driver } = await start();
    const script = 'i=0; while [ $i -lt 1000 ]; do echo "line $i"; i=$((i+1)); done; echo oops >&2';
    const { key } = await driver.offer(processJob('tails', ['/bin/sh', '-c', script]));
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(true);
    const all = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join('');
    expect(outcome.record.stdoutBytes).toBe(all.length);
    expect(outcome.record.stdoutTail).toBe(all.slice(-4096));
    expect(outcome.record.stderrTail).toBe('oops\n');
    expect(outcome.record.stderrBytes).toBe(5);
  });

  it('redirects stdout to an lfn that is then an output, and feeds stdin from one', async () => {
    const { driver, dir } = await start();
    const store = path.join(dir, 'store');
    await mkdir(store, { recursive: true });
    await writeFile(path.join(store, 'in.txt'), 'b\na\nc\n');
    const job = processJob('redir', ['/usr/bin/sort'], {
      stdin: 'in.txt',
      stdout: 'logs/sorted.txt',
      inputs: [{ lfn: 'in.txt', url: url(path.join(store, 'in.txt')) }],
      outputs: [{ lfn: 'logs/sorted.txt', url: url(path.join(store, 'out', 'sorted.txt')) }],
    });
    const { key } = await driver.offer(job);
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(true);
    expect(await readFile(path.join(store, 'out', 'sorted.txt'), 'utf8')).toBe('a\nb\nc\n');
    expect(outcome.record.stdoutTail).toBe('a\nb\nc\n');
    const out = outcome.record.files.find((f) => f.link === 'output');
    expect(out).toMatchObject({ lfn: 'logs/sorted.txt', size: 6 });
    expect(out?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(outcome.record.files.find((f) => f.link === 'input')).toEqual({
      lfn: 'in.txt',
      link: 'input',
      size: 6,
    });
  });

  it('gives the job its env profile and aloft variables, never the agent secrets', async () => {
    process.env['ALOFT_TEST_AGENT_SECRET'] = 'hunter2';
    try {
      const { driver } = await start();
      const job = processJob('env', ['/usr/bin/env'], {
        env: { FOO: 'bar baz' },
        profiles: { env: { FROM_PROFILE: '1' } },
      });
      const { key } = await driver.offer(job, { attempt: 2 });
      const { outcome } = await driver.result(key);
      expect(outcome.ok).toBe(true);
      const env = outcome.record.stdoutTail;
      expect(env).toContain('FOO=bar baz\n');
      expect(env).toContain('FROM_PROFILE=1\n');
      expect(env).toContain('ALOFT_JOB_ID=env\n');
      expect(env).toContain('ALOFT_ATTEMPT=2\n');
      expect(env).toMatch(/^ALOFT_SCRATCH=.*\/scratch\/env\.2\.\d+$/m);
      expect(env).toMatch(/^TMPDIR=.*\/scratch\/env\.2\.\d+$/m);
      expect(env).toMatch(/^PATH=/m);
      expect(env).not.toContain('hunter2');
      expect(env).not.toContain('ALOFT_TEST_AGENT_SECRET');
    } finally {
      delete process.env['ALOFT_TEST_AGENT_SECRET'];
    }
  });

  it('fails with application naming a declared output that was not produced', async () => {
    const { driver, dir } = await start();
    const job = processJob('noout', ['/bin/sh', '-c', 'echo x > made.txt'], {
      outputs: [
        { lfn: 'made.txt', url: url(path.join(dir, 'store', 'made.txt')) },
        { lfn: 'never.txt', url: url(path.join(dir, 'store', 'never.txt')) },
        { lfn: 'maybe.txt', url: url(path.join(dir, 'store', 'maybe.txt')), optional: true },
      ],
    });
    const { key } = await driver.offer(job);
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.failure).toMatchObject({
      kind: 'application',
      message: 'job noout: declared output never.txt was not produced',
      missingFiles: ['never.txt'],
    });
  });

  it('fails with infrastructure when the executable is missing', async () => {
    const { driver } = await start();
    const { key } = await driver.offer(processJob('nobin', ['/nonexistent/tool', 'x']));
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.failure).toMatchObject({
      kind: 'infrastructure',
      message: 'executable /nonexistent/tool not found on agent agent-1',
      code: 'ENOENT',
    });
  });

  it('fails with infrastructure when the executable is not executable', async () => {
    const { driver, dir } = await start();
    const file = path.join(dir, 'plain.txt');
    await writeFile(file, 'echo hi\n', { mode: 0o644 });
    const { key } = await driver.offer(processJob('noexec', [file]));
    const { outcome } = await driver.result(key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('infrastructure');
    // root may execute any file with an x bit; 0644 has none, so EACCES for everybody.
    expect(outcome.failure.code).toBe('EACCES');
  });

  it('records rusage (cpu time and peak memory)', async () => {
    const { driver } = await start();
    // Touch ~64 MB and spin for a while so both the sampler and wait4 see it.
    const script =
      'const b = Buffer.alloc(64 << 20, 1); let s = 0; const end = Date.now() + 400;' +
      ' while (Date.now() < end) for (let i = 0; i < b.length; i += 4096) s += b[i];' +
      ' console.log(s > 0)';
    const { key } = await driver.offer(processJob('rusage', [process.execPath, '-e', script]));
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(true);
    expect(outcome.record.maxRssKb).toBeGreaterThan(64 * 1024);
    expect(outcome.record.utimeMs + outcome.record.stimeMs).toBeGreaterThan(0);
  });

  it('runs a stageable executable fetched from its URL as ./name', async () => {
    const { driver, dir } = await start();
    const tool = path.join(dir, 'tools', 'hello.sh');
    await mkdir(path.dirname(tool), { recursive: true });
    await writeFile(tool, '#!/bin/sh\necho "hello $1 from $0"\n', { mode: 0o644 });
    const job = processJob('staged', ['unused', 'world'], {
      executable: { name: 'hello.sh', pfn: url(tool), type: 'stageable' },
    });
    const { key } = await driver.offer(job);
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(true);
    expect(outcome.record.argv).toEqual(['./hello.sh', 'world']);
    expect(outcome.record.stdoutTail).toBe('hello world from ./hello.sh\n');
  });
});

describe('agent attempt lifecycle', () => {
  it('stages inputs in (with subdirectories), removes scratch on success, keeps it on failure', async () => {
    t = await startTestAgent();
    const { driver, dir, workDir } = t;
    const store = path.join(dir, 'store');
    await mkdir(path.join(store, 'deep'), { recursive: true });
    await writeFile(path.join(store, 'deep', 'a.txt'), 'AAA');
    const ok = processJob('cat', ['/bin/cat', 'sub/dir/a.txt'], {
      inputs: [{ lfn: 'sub/dir/a.txt', url: url(path.join(store, 'deep', 'a.txt')) }],
    });
    const r1 = await driver.result((await driver.offer(ok)).key);
    expect(r1.outcome.ok).toBe(true);
    expect(r1.outcome.record.stdoutTail).toBe('AAA');
    expect(r1.outcome.record.transfers[0]).toMatchObject({ lfn: 'sub/dir/a.txt', bytes: 3 });
    expect(r1.outcome.record.cwd).toBe(path.join(workDir, 'scratch', 'cat.1.1'));

    const bad = processJob('cat2', ['/bin/cat', 'x', 'y'], {
      inputs: [
        { lfn: 'x', url: url(path.join(store, 'missing-x')) },
        { lfn: 'y', url: url(path.join(store, 'missing-y')) },
        { lfn: 'a', url: url(path.join(store, 'deep', 'a.txt')) },
      ],
    });
    const r2 = await driver.result((await driver.offer(bad)).key);
    expect(r2.outcome.ok).toBe(false);
    if (r2.outcome.ok) return;
    expect(r2.outcome.failure.kind).toBe('data');
    expect(r2.outcome.failure.missingFiles).toEqual(['x', 'y']);
    expect(r2.outcome.failure.message).toBe('job cat2: input x, y not found');
    // the job never ran
    expect(driver.started.map((s) => s.key.job)).toEqual(['cat']);
    // success: scratch removed (after the report); failure: kept for debugging
    await t.agent.stop();
    expect(await readdir(path.join(workDir, 'scratch'))).toEqual(['cat2.1.1']);
  });

  it('a corrupt input (checksum mismatch) is a data failure', async () => {
    t = await startTestAgent();
    const store = path.join(t.dir, 'store');
    await mkdir(store, { recursive: true });
    await writeFile(path.join(store, 'a'), 'content');
    const job = processJob('corrupt', ['/bin/true'], {
      inputs: [
        {
          lfn: 'a',
          url: url(path.join(store, 'a')),
          checksum: { type: 'sha256', value: '0'.repeat(64) },
        },
      ],
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('data');
    expect(outcome.failure.message).toMatch(
      /checksum mismatch \(expected sha256 0{64}, got [0-9a-f]{64}\)/,
    );
    expect(outcome.failure.missingFiles).toEqual(['a']);
  });

  it('publishes its ad and a started message carrying the key', async () => {
    t = await startTestAgent({ slots: 3, labels: { zone: 'edge' } });
    const ad = t.driver.ads[0] ?? (await new Promise((r) => setImmediate(r)), t.driver.ads[0]);
    expect(ad).toMatchObject({
      agent: 'agent-1',
      site: 'local',
      slots: 3,
      labels: { zone: 'edge' },
    });
    expect(ad?.executors).toEqual(
      expect.arrayContaining(['process', 'synthetic', 'transfer', 'cleanup']),
    );
    const { key } = await t.driver.offer(processJob('s', ['/bin/true']), { epoch: 7 });
    const started = await t.driver.startedOf(key);
    expect(started).toMatchObject({
      key: { job: 's', attempt: 1, epoch: 7 },
      agent: 'agent-1',
      site: 'local',
    });
    const { outcome } = await t.driver.result(key);
    expect(outcome.record).toMatchObject({ agent: 'agent-1', site: 'local', job: 's', attempt: 1 });
    expect(outcome.record.host).not.toBe('');
    expect(outcome.record.user).not.toBe('');
    expect(Date.parse(outcome.record.start)).not.toBeNaN();
  });

  it('a kill message stops a running attempt, reported as cancelled', async () => {
    t = await startTestAgent();
    const { key } = await t.driver.offer(
      processJob('long', ['/bin/sh', '-c', 'touch running; exec sleep 30']),
    );
    await waitForFile(path.join(t.workDir, 'scratch', 'long.1.1', 'running'));
    expect(t.agent.running()).toEqual([key]);
    t.driver.kill(key, 'removed by user');
    const { outcome } = await t.driver.result(key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure).toEqual({
      kind: 'cancelled',
      message: 'attempt cancelled: removed by user',
    });
    expect(outcome.record.signal).toBe('SIGTERM');
    expect(t.agent.running()).toEqual([]);
  });

  it('a job ignoring SIGTERM is killed after the grace period', async () => {
    t = await startTestAgent({
      executors: { process: createProcessExecutor({ killGraceMs: 200 }) },
    });
    const { key } = await t.driver.offer(
      processJob('stubborn', ['/bin/sh', '-c', 'trap "" TERM; touch running; sleep 30']),
    );
    await waitForFile(path.join(t.workDir, 'scratch', 'stubborn.1.1', 'running'));
    t.driver.kill(key, 'halt');
    const { outcome } = await t.driver.result(key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('cancelled');
    expect(outcome.record.signal).toBe('SIGKILL');
  });

  it('rejects offers beyond its slots, and register jobs', async () => {
    t = await startTestAgent({ slots: 1 });
    const first = await t.driver.offer(processJob('busy', ['/bin/sleep', '30']));
    expect(first.reply).toEqual({ accepted: true });
    const second = await t.driver.offer(processJob('more', ['/bin/true']));
    expect(second.reply).toEqual({
      accepted: false,
      reason: 'no free slot on agent agent-1 (1/1 busy)',
    });
    // the same offer again is idempotent: accepted, not run twice
    const again = await t.driver.offer(processJob('busy', ['/bin/sleep', '30']));
    expect(again.reply).toEqual({ accepted: true });
    expect(t.agent.running()).toHaveLength(1);
    // same attempt under a newer epoch while the old one runs: refused
    const newer = await t.driver.offer(processJob('busy', ['/bin/sleep', '30']), { epoch: 2 });
    expect(newer.reply.accepted).toBe(false);
    t.driver.kill(first.key, 'test over');
    await t.driver.result(first.key);
    const reg = await t.driver.offer({
      ...processJob('reg', ['/bin/true']),
      kind: 'register',
      registrations: [],
    });
    expect(reg.reply).toEqual({
      accepted: false,
      reason: 'register jobs are done by the submit side, not by agents',
    });
  });

  it('runs the same job id of two workflows at once, each in its own scratch', async () => {
    t = await startTestAgent({ slots: 2 });
    const job = processJob('shared', ['/bin/sleep', '0.3']);
    const a = await t.driver.offer(job, { epoch: 7, runId: 'wf-a' });
    const b = await t.driver.offer(job, { epoch: 8, runId: 'wf-b' });
    expect([a.reply, b.reply]).toEqual([{ accepted: true }, { accepted: true }]);
    expect(t.agent.running()).toHaveLength(2);
    const [ra, rb] = await Promise.all([t.driver.result(a.key), t.driver.result(b.key)]);
    expect([ra.outcome.ok, rb.outcome.ok]).toEqual([true, true]);
    expect(ra.outcome.record.cwd).toBe(path.join(t.workDir, 'scratch', 'shared.1.7'));
    expect(rb.outcome.record.cwd).toBe(path.join(t.workDir, 'scratch', 'shared.1.8'));
  });

  it('enforces pegasus.maxwalltime as a timeout failure', async () => {
    t = await startTestAgent();
    const job = processJob('slow', ['/bin/sleep', '30'], {
      profiles: { pegasus: { maxwalltime: '0.005' } }, // 0.3 s
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('timeout');
    expect(outcome.failure.message).toMatch(/exceeded its runtime limit of 0.005 minutes/);
  });

  it('fails a container job of an unsupported type as infrastructure', async () => {
    t = await startTestAgent();
    const job = processJob('boxed', ['/bin/true'], {
      executable: {
        name: 'true',
        pfn: '/bin/true',
        type: 'installed',
        container: { name: 'c', type: 'singularity', image: 'busybox.sif', mounts: [] },
      },
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure).toMatchObject({
      kind: 'infrastructure',
      message:
        'job boxed needs a singularity container (busybox.sif); this agent runs docker containers only',
    });
  });

  it('fails a sub-workflow job as infrastructure with a clear message', async () => {
    t = await startTestAgent();
    const job = processJob('inner', ['inner.yml'], {
      executable: { name: 'pegasus-plan', pfn: 'aloft:subworkflow', type: 'installed' },
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('infrastructure');
    expect(outcome.failure.message).toMatch(/job inner is a sub-workflow/);
  });

  it('a full store disk on stage-out is an infrastructure failure (ENOSPC)', async (ctx) => {
    t = await startTestAgent();
    // A real full filesystem: a 64 KiB tmpfs (needs root and mount; skipped otherwise).
    const small = path.join(t.dir, 'small-store');
    await mkdir(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { stdio: 'ignore' });
    } catch {
      ctx.skip();
    }
    try {
      const job = processJob('bigout', ['/bin/sh', '-c', 'head -c 300000 /dev/zero > big.bin'], {
        outputs: [{ lfn: 'big.bin', url: url(path.join(small, 'big.bin')) }],
      });
      const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
      if (outcome.ok) throw new Error('expected a failure');
      expect(outcome.failure).toMatchObject({ kind: 'infrastructure', code: 'ENOSPC' });
      expect(outcome.failure.message).toMatch(/no space left/);
      // nothing partial is visible in the store
      expect(await readdir(small)).toEqual([]);
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('stop() rejects new offers and cancels what is still running after the grace', async () => {
    t = await startTestAgent();
    const { key } = await t.driver.offer(processJob('drain', ['/bin/sleep', '30']));
    await t.driver.startedOf(key);
    const stopped = t.agent.stop({ graceMs: 50 });
    const late = await t.driver.offer(processJob('late', ['/bin/true']));
    expect(late.reply).toEqual({ accepted: false, reason: 'agent agent-1 is stopping' });
    await stopped;
    const { outcome } = await t.driver.result(key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure).toEqual({ kind: 'cancelled', message: 'agent agent-1 is stopping' });
  });
});
