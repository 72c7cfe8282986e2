/**
 * aloft-kickstart as a program: its result line, exit status, exec errors without a shell,
 * signal forwarding to the job's process group, and no leftovers after the job ends.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../test/helpers/cli.js';
import { alive, until } from '../../test/helpers/proc.js';

const KICKSTART = path.join(REPO, 'dist', 'bin', 'aloft-kickstart');

let dir: string;
beforeAll(async () => {
  execFileSync('bash', [path.join(REPO, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-ks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  result: Record<string, unknown> | undefined;
}

function kickstart(
  argv: string[],
  o: { onSpawn?: (pid: number) => void | Promise<void> } = {},
): Promise<Run> {
  const resultFile = path.join(dir, `result-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn(KICKSTART, [resultFile, '--', ...argv], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const text = existsSync(resultFile) ? readFileSync(resultFile, 'utf8') : undefined;
      resolve({
        code,
        stdout,
        stderr,
        result: text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>),
      });
    });
    if (o.onSpawn && child.pid !== undefined) void o.onSpawn(child.pid);
  });
}

describe('aloft-kickstart', () => {
  it('runs argv without a shell, inherits stdio, writes the result line, exits with the code', async () => {
    const r = await kickstart(['/usr/bin/printf', '%s|', '$(echo no)', 'a b']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('$(echo no)|a b|');
    expect(r.result).toMatchObject({ exit: 0, signal: null, exec_error: null, exec_errno: null });
    expect(typeof r.result?.['utime_us']).toBe('number');
    expect(r.result?.['maxrss_kb'] as number).toBeGreaterThan(0);
    const fail = await kickstart(['/bin/sh', '-c', 'exit 7']);
    expect(fail.code).toBe(7);
    expect(fail.result).toMatchObject({ exit: 7, signal: null });
  });

  it('reports death by signal as signal name and exit 128+n', async () => {
    const r = await kickstart(['/bin/sh', '-c', 'kill -ABRT $$']);
    expect(r.code).toBe(128 + 6);
    expect(r.result).toMatchObject({ exit: null, signal: 'SIGABRT' });
  });

  it('reports exec errors: not found 127, not executable / not a binary 126, never via sh', async () => {
    const missing = await kickstart(['/no/such/binary']);
    expect(missing.code).toBe(127);
    expect(missing.result).toMatchObject({ exit: 127, exec_errno: os.constants.errno.ENOENT });
    expect(missing.result?.['exec_error']).toMatch(/No such file/);
    const viaPath = await kickstart(['no-such-command-anywhere']);
    expect(viaPath.code).toBe(127);

    const plain = path.join(dir, 'plain.sh');
    await writeFile(plain, 'touch should-not-exist\n', { mode: 0o644 });
    const noexec = await kickstart([plain]);
    expect(noexec.code).toBe(126);
    expect(noexec.result?.['exec_errno']).toBe(os.constants.errno.EACCES);

    // executable text without #!: execvp would hand it to /bin/sh; kickstart must not
    const script = path.join(dir, 'noshebang');
    await writeFile(script, 'touch should-not-exist\n', { mode: 0o755 });
    const enoexec = await kickstart([script]);
    expect(enoexec.code).toBe(126);
    expect(enoexec.result?.['exec_errno']).toBe(os.constants.errno.ENOEXEC);
    expect(existsSync(path.join(dir, 'should-not-exist'))).toBe(false);
  });

  it('forwards SIGTERM to the whole process group of the job', async () => {
    const bg = path.join(dir, 'bg.pid');
    const r = await kickstart(['/bin/sh', '-c', 'sleep 30 & echo $! > "$1"; wait', 'sh', bg], {
      onSpawn: async (pid) => {
        await until('the job to start', () => existsSync(bg));
        process.kill(pid, 'SIGTERM');
      },
    });
    expect(r.result).toMatchObject({ signal: 'SIGTERM' });
    const sleeper = Number((await readFile(bg, 'utf8')).trim());
    await until('the background sleep to die', () => !alive(sleeper));
  });

  it('SIGUSR1 kills the job group with SIGKILL even when it ignores SIGTERM', async () => {
    const ready = path.join(dir, 'ready');
    const r = await kickstart(
      ['/bin/sh', '-c', 'trap "" TERM; touch "$1"; sleep 30', 'sh', ready],
      {
        onSpawn: async (pid) => {
          await until('the job to start', () => existsSync(ready));
          process.kill(pid, 'SIGUSR1');
        },
      },
    );
    expect(r.result).toMatchObject({ signal: 'SIGKILL' });
  });

  it('background leftovers do not outlive the job', async () => {
    const bg = path.join(dir, 'left.pid');
    const r = await kickstart(['/bin/sh', '-c', 'sleep 30 & echo $! > "$1"', 'sh', bg]);
    expect(r.code).toBe(0);
    const sleeper = Number((await readFile(bg, 'utf8')).trim());
    await until('the leftover sleep to die', () => !alive(sleeper));
  });

  it('bad usage exits 125 with a message', async () => {
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(KICKSTART, ['only-result-file']);
      let stderr = '';
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      c.on('close', (code) => resolve({ code, stderr }));
    });
    expect(out.code).toBe(125);
    expect(out.stderr).toMatch(/usage: aloft-kickstart/);
  });
});
