/**
 * aloft-launcher through its Node client (agents/executors/launcher.ts): the per-job
 * guarantees (no shell, exact environment, stdio files, own process group, leftovers
 * killed, rusage), signals, failures before exec, many jobs at once, and the launcher's
 * own lifecycle (EOF and death of its parent end every job; a dead launcher fails the jobs
 * in flight and the next run starts a fresh one). Real processes, real files.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging/index.js';
import { REPO } from '../../test/helpers/cli.js';
import { alive, until } from '../../test/helpers/proc.js';
import { createLauncher, type Launcher, type LaunchRequest } from '../executors/launcher.js';

const LAUNCHER = path.join(REPO, 'dist', 'bin', 'aloft-launcher');
const ENV = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };

let dir: string;
let launcher: Launcher;
beforeAll(async () => {
  execFileSync('bash', [path.join(REPO, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-launcher-'));
  launcher = createLauncher(LAUNCHER, silentLogger);
});
afterAll(async () => {
  await launcher.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
function req(argv: string[], o: Partial<LaunchRequest> = {}): LaunchRequest {
  n++;
  return { argv, env: ENV, cwd: dir, stdout: path.join(dir, `out-${n}`), ...o };
}

async function pidFrom(file: string): Promise<number> {
  await until(`${file}`, () => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n'));
  return Number((await readFile(file, 'utf8')).trim());
}

describe('aloft-launcher', () => {
  it('runs argv without a shell, with exactly the given environment, cwd and stdio files', async () => {
    const out = path.join(dir, 'argv.out');
    const r = await launcher.run(
      req(['/usr/bin/printf', '%s|', '$(echo no)', 'a b', "it's"], { stdout: out }),
    ).done;
    expect(r).toMatchObject({ exit: 0, signal: null, execError: null, setupWhat: null });
    expect(await readFile(out, 'utf8')).toBe("$(echo no)|a b|it's|");
    expect(r.stdoutBytes).toBe(Buffer.byteLength("$(echo no)|a b|it's|"));
    expect(r.maxRssKb).toBeGreaterThan(0);
    expect(r.pid).toBeGreaterThan(0);

    const envOut = path.join(dir, 'env.out');
    const sub = await mkdtemp(path.join(dir, 'cwd-'));
    const e = await launcher.run(
      req(['env'], { stdout: envOut, cwd: sub, env: { PATH: '/usr/bin:/bin', ONLY: 'this' } }),
    ).done;
    expect(e.exit).toBe(0);
    expect((await readFile(envOut, 'utf8')).trim().split('\n').sort()).toEqual([
      'ONLY=this',
      'PATH=/usr/bin:/bin',
    ]);
    const pwdOut = path.join(dir, 'pwd.out');
    await launcher.run(req(['pwd'], { stdout: pwdOut, cwd: sub })).done;
    expect((await readFile(pwdOut, 'utf8')).trim()).toBe(sub);
  });

  it('separates stdout and stderr, or merges them; reads stdin from a file', async () => {
    const input = path.join(dir, 'in.txt');
    await writeFile(input, 'from stdin\n');
    const out = path.join(dir, 'sep.out');
    const err = path.join(dir, 'sep.err');
    const r = await launcher.run(
      req(['/bin/sh', '-c', 'cat; echo oops >&2'], { stdin: input, stdout: out, stderr: err }),
    ).done;
    expect(r.exit).toBe(0);
    expect(await readFile(out, 'utf8')).toBe('from stdin\n');
    expect(await readFile(err, 'utf8')).toBe('oops\n');
    expect([r.stdoutBytes, r.stderrBytes]).toEqual([11, 5]);

    const both = path.join(dir, 'both.out');
    const m = await launcher.run(
      req(['/bin/sh', '-c', 'echo a; echo b >&2'], { stdout: both, stderr: both }),
    ).done;
    expect(m.exit).toBe(0);
    expect(await readFile(both, 'utf8')).toBe('a\nb\n');
    // stdin defaults to /dev/null: cat ends at once
    const c = await launcher.run(req(['cat'])).done;
    expect(c).toMatchObject({ exit: 0, stdoutBytes: 0 });
  });

  it('reports exit codes, and death by signal by name', async () => {
    expect((await launcher.run(req(['/bin/sh', '-c', 'exit 7'])).done).exit).toBe(7);
    const k = await launcher.run(req(['/bin/sh', '-c', 'kill -ABRT $$'])).done;
    expect(k).toMatchObject({ exit: null, signal: 'SIGABRT' });
  });

  it('reports exec errors: not found 127, not executable / not a binary 126, never via sh', async () => {
    const missing = await launcher.run(req(['/no/such/binary'])).done;
    expect(missing).toMatchObject({ exit: 127, execErrno: os.constants.errno.ENOENT });
    expect(missing.execError).toMatch(/No such file/);
    // PATH search uses the job's PATH, not the launcher's
    const viaPath = await launcher.run(req(['true'], { env: { PATH: '/nonexistent' } })).done;
    expect(viaPath).toMatchObject({ exit: 127, execErrno: os.constants.errno.ENOENT });

    const plain = path.join(dir, 'plain.sh');
    await writeFile(plain, 'touch should-not-exist\n', { mode: 0o644 });
    const noexec = await launcher.run(req([plain])).done;
    expect(noexec).toMatchObject({ exit: 126, execErrno: os.constants.errno.EACCES });

    // executable text without #!: execvp would hand it to /bin/sh; the launcher must not
    const script = path.join(dir, 'noshebang');
    await writeFile(script, 'touch should-not-exist\n', { mode: 0o755 });
    const enoexec = await launcher.run(req([script])).done;
    expect(enoexec).toMatchObject({ exit: 126, execErrno: os.constants.errno.ENOEXEC });
    expect(existsSync(path.join(dir, 'should-not-exist'))).toBe(false);
  });

  it('reports failures before exec: missing stdin, unwritable stdout, missing cwd', async () => {
    const s = await launcher.run(req(['true'], { stdin: path.join(dir, 'nope') })).done;
    expect(s).toMatchObject({
      setupWhat: 'stdin',
      setupErrno: os.constants.errno.ENOENT,
      exit: null,
      pid: null,
    });
    const o = await launcher.run(req(['true'], { stdout: path.join(dir, 'no', 'dir', 'out') }))
      .done;
    expect(o).toMatchObject({ setupWhat: 'stdout', setupErrno: os.constants.errno.ENOENT });
    const c = await launcher.run(req(['true'], { cwd: path.join(dir, 'no-such-cwd') })).done;
    expect(c).toMatchObject({ setupWhat: 'cwd', setupErrno: os.constants.errno.ENOENT });
    expect(c.pid).toBeGreaterThan(0);
    // the launcher is still serving
    expect((await launcher.run(req(['true'])).done).exit).toBe(0);
  });

  it('TERM reaches the whole process group of the job', async () => {
    const bg = path.join(dir, 'bg.pid');
    const l = launcher.run(req(['/bin/sh', '-c', 'sleep 30 & echo $! > "$1"; wait', 'sh', bg]));
    const sleeper = await pidFrom(bg);
    l.signal('TERM');
    expect((await l.done).signal).toBe('SIGTERM');
    await until('the background sleep to die', () => !alive(sleeper));
  });

  it('KILL ends a job that ignores TERM', async () => {
    const ready = path.join(dir, 'ready.pid');
    const l = launcher.run(
      req([
        '/bin/sh',
        '-c',
        'trap "" TERM; echo $$ > "$1"; while :; do sleep 1; done',
        'sh',
        ready,
      ]),
    );
    await pidFrom(ready);
    l.signal('TERM');
    await new Promise((r) => setTimeout(r, 200));
    l.signal('KILL');
    expect((await l.done).signal).toBe('SIGKILL');
  });

  it('background leftovers do not outlive the job', async () => {
    const bg = path.join(dir, 'left.pid');
    const r = await launcher.run(req(['/bin/sh', '-c', 'sleep 30 & echo $! > "$1"', 'sh', bg]))
      .done;
    expect(r.exit).toBe(0);
    const sleeper = await pidFrom(bg);
    await until('the leftover sleep to die', () => !alive(sleeper));
  });

  it('runs many jobs at once and matches every reply to its job', async () => {
    const runs = Array.from({ length: 200 }, (_, i) =>
      launcher.run(req(['/bin/sh', '-c', `exit ${i % 50}`])),
    );
    const results = await Promise.all(runs.map((r) => r.done));
    results.forEach((r, i) => expect(r.exit).toBe(i % 50));
  });

  it('rejects NUL in argv, env and paths before anything is sent', () => {
    expect(() => launcher.run(req(['echo', 'a\0b']))).toThrow(/NUL/);
    expect(() => launcher.run(req(['true'], { env: { A: 'x\0y' } }))).toThrow(/NUL/);
    expect(() => launcher.run(req(['true'], { cwd: '/tmp\0x' }))).toThrow(/NUL/);
  });
});

describe('aloft-launcher lifecycle', () => {
  let own: Launcher | undefined;
  afterEach(async () => {
    await own?.close();
    own = undefined;
  });

  it('close() (EOF) kills running jobs and fails them as UNAVAILABLE', async () => {
    own = createLauncher(LAUNCHER, silentLogger);
    const marker = path.join(dir, 'close.pid');
    const l = own.run(req(['/bin/sh', '-c', 'echo $$ > "$1"; exec sleep 30', 'sh', marker]));
    const pid = await pidFrom(marker);
    await own.close();
    await expect(l.done).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await until('the job to die', () => !alive(pid));
  });

  it('a killed launcher fails the jobs in flight; the next run starts a new one', async () => {
    own = createLauncher(LAUNCHER, silentLogger);
    const marker = path.join(dir, 'crash.pid');
    const l = own.run(req(['/bin/sh', '-c', 'echo $$ > "$1"; exec sleep 30', 'sh', marker]));
    const pid = await pidFrom(marker);
    const launcherPid = Number(
      readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1],
    );
    process.kill(launcherPid, 'SIGKILL');
    await expect(l.done).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await until('the job to die (PDEATHSIG)', () => !alive(pid));
    expect((await own.run(req(['true'])).done).exit).toBe(0);
  });

  it('dies with its parent, killing its jobs (kill -9 of the agent leaves no orphan)', async () => {
    const marker = path.join(dir, 'parent.pid');
    const script = path.join(dir, 'parent.mjs');
    const mod = pathToFileURL(path.join(REPO, 'dist', 'agents', 'executors', 'launcher.js')).href;
    const logging = pathToFileURL(path.join(REPO, 'dist', 'lib', 'logging', 'index.js')).href;
    await writeFile(
      script,
      `import { createLauncher } from ${JSON.stringify(mod)};
import { silentLogger } from ${JSON.stringify(logging)};
const l = createLauncher(${JSON.stringify(LAUNCHER)}, silentLogger);
l.run({ argv: ['/bin/sh', '-c', 'sleep 30 & echo $! > "$1"; wait', 'sh', ${JSON.stringify(marker)}],
  env: { PATH: '/usr/bin:/bin' }, cwd: ${JSON.stringify(dir)}, stdout: '/dev/null' });
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    let sleeper = 0;
    try {
      sleeper = await pidFrom(marker);
      expect(alive(sleeper)).toBe(true);
      child.kill('SIGKILL');
      await until('the background job to die with the agent', () => !alive(sleeper));
    } finally {
      child.kill('SIGKILL');
      if (sleeper > 0 && alive(sleeper)) process.kill(sleeper, 'SIGKILL');
    }
  });

  it('a malformed request ends it with exit 125 and a message, killing its jobs', async () => {
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(LAUNCHER, []);
      let stderr = '';
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      c.on('close', (code) => resolve({ code, stderr }));
      const body = Buffer.from('bogus\0');
      const head = Buffer.alloc(4);
      head.writeUInt32LE(body.length);
      c.stdin.write(Buffer.concat([head, body]));
    });
    expect(out.code).toBe(125);
    expect(out.stderr).toMatch(/aloft-launcher: protocol error: unknown operation/);
  });
});
