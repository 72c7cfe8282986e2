/**
 * The `process` executor: runs a compute job's executable as a local process.
 *
 *  - argv = [executable, ...args], passed as an array (never through a shell). A stageable
 *    executable is fetched from its URL into scratch, made executable and run as `./name`.
 *  - cwd = scratch. The environment is built from scratch, never inherited wholesale (the
 *    agent's secrets stay out): PATH, HOME, LANG, USER, TMPDIR=scratch, then the job's env
 *    profile and `env`, then ALOFT_JOB_ID, ALOFT_ATTEMPT, ALOFT_SCRATCH.
 *  - stdin from the job's `stdin` lfn; stdout/stderr into the job's `stdout`/`stderr` lfns
 *    when set (they are then ordinary outputs), else `.aloft.stdout` / `.aloft.stderr`.
 *  - With dist/bin/aloft-launcher (launcher.ts) jobs start from one long-lived native
 *    process: own process group, killed if the agent dies (PDEATHSIG), leftovers of the
 *    group killed when the job ends, exact rusage from wait4. Without it (no C compiler at
 *    build time) the job is spawned directly in its own process group and /proc is sampled
 *    for usage (see proc-sampler.ts); such jobs can outlive a crashed agent.
 *  - Stopping (ctx.signal): SIGTERM to the job's process group, SIGKILL after the grace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PlannedJob } from '../../proto/index.js';
import {
  emptyOutcome,
  fail,
  type ExecContext,
  type ExecOutcome,
  type Executor,
} from './executor.js';
import { commandOf, stdioPaths } from './job-command.js';
import { createLauncher, locateLauncher, type Launcher, type LaunchResult } from './launcher.js';
import { sampleUsage, type Usage } from './proc-sampler.js';
import { scratchPath } from './scratch-path.js';
import { readTail } from './tail.js';

export interface ProcessExecutorOptions {
  /**
   * Path of aloft-launcher. Default: located next to the module (dist/bin). `false`:
   * never use it (the direct-spawn, /proc-sampling fallback).
   */
  launcher?: string | false;
  /** Between SIGTERM and SIGKILL when an attempt is stopped (default 5000 ms). */
  killGraceMs?: number;
  /** PATH given to jobs (default: the agent's PATH, else /usr/local/bin:/usr/bin:/bin). */
  path?: string;
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** errno number → name (2 → ENOENT). */
const ERRNO_NAMES = new Map<number, string>(
  Object.entries(os.constants.errno).map(([name, n]) => [n, name]),
);

let agentUser: string | undefined;

/** The agent's user name, looked up once (a passwd lookup per attempt showed in profiles). */
function userName(): string {
  if (agentUser === undefined) {
    agentUser = process.env['USER'] ?? '';
    try {
      agentUser = os.userInfo().username;
    } catch {
      // no passwd entry: keep $USER
    }
  }
  return agentUser;
}

/** The job's environment: a minimal base, the job's own variables, then aloft's. */
export function jobEnvironment(
  job: PlannedJob,
  ctx: Pick<ExecContext, 'key' | 'scratch'>,
  pathVar: string,
): Record<string, string> {
  const user = userName();
  return {
    PATH: pathVar,
    HOME: process.env['HOME'] ?? os.homedir(),
    LANG: process.env['LANG'] ?? 'C.UTF-8',
    USER: user,
    TMPDIR: ctx.scratch,
    ...(job.profiles?.['env'] ?? {}),
    ...(job.env ?? {}),
    ALOFT_JOB_ID: job.id,
    ALOFT_ATTEMPT: String(ctx.key.attempt),
    ALOFT_SCRATCH: ctx.scratch,
  };
}

/** Message for an exec failure (errno name), naming the executable and the agent. */
function execFailure(
  outcome: ExecOutcome,
  exe: string,
  agent: string,
  errno: string,
  detail: string,
): ExecOutcome {
  if (errno === 'ENOENT' || errno === 'ENOTDIR') {
    return fail(outcome, 'infrastructure', `executable ${exe} not found on agent ${agent}`, {
      code: 'ENOENT',
    });
  }
  if (errno === 'EACCES') {
    return fail(
      outcome,
      'infrastructure',
      `executable ${exe} is not executable on agent ${agent} (permission denied)`,
      { code: errno },
    );
  }
  if (errno === 'ENOEXEC') {
    return fail(
      outcome,
      'infrastructure',
      `executable ${exe} cannot be run on agent ${agent}: not a binary for this machine and no #! line`,
      { code: errno },
    );
  }
  return fail(outcome, 'infrastructure', `cannot start ${exe} on agent ${agent}: ${detail}`, {
    code: errno,
  });
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: NodeJS.ErrnoException;
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is gone already
  }
}

/** Failure for a step before exec that the launcher reports (cwd, stdio files, spawn). */
function setupFailure(
  outcome: ExecOutcome,
  r: LaunchResult,
  job: PlannedJob,
  agent: string,
  paths: { stdin?: string; stdout: string; stderr: string; cwd: string },
): ExecOutcome {
  const errno = (r.setupErrno !== null && ERRNO_NAMES.get(r.setupErrno)) || 'EIO';
  const why = r.setupError ?? errno;
  switch (r.setupWhat) {
    case 'stdin':
      if (errno === 'ENOENT') {
        return fail(outcome, 'data', `stdin file ${job.stdin} of job ${job.id} is missing`, {
          missingFiles: job.stdin ? [job.stdin] : [],
        });
      }
      return fail(
        outcome,
        'infrastructure',
        `cannot open stdin ${paths.stdin} of job ${job.id}: ${why}`,
        {
          code: errno,
        },
      );
    case 'stdout':
    case 'stderr':
      return fail(
        outcome,
        'infrastructure',
        `cannot create ${r.setupWhat} file ${paths[r.setupWhat]} of job ${job.id} on agent ${agent}: ${why}`,
        { code: errno },
      );
    case 'cwd':
      return fail(
        outcome,
        'infrastructure',
        `cannot enter scratch ${paths.cwd} of job ${job.id} on agent ${agent}: ${why}`,
        { code: errno },
      );
    default:
      return fail(
        outcome,
        'infrastructure',
        `cannot start job ${job.id} on agent ${agent}: ${why}`,
        {
          code: errno,
        },
      );
  }
}

/** The exit status part of an outcome: killed by a signal or a non-zero exit fails the job. */
function judgeExit(outcome: ExecOutcome, job: PlannedJob, argv0: string): ExecOutcome {
  if (outcome.signal !== null) {
    return fail(
      outcome,
      'application',
      `job ${job.id} (${argv0}) was killed by signal ${outcome.signal}`,
    );
  }
  if (outcome.exitCode !== 0) {
    return fail(
      outcome,
      'application',
      `job ${job.id} (${argv0}) exited with code ${outcome.exitCode}`,
    );
  }
  return outcome;
}

const NO_TAIL = { tail: '', bytes: 0 };

export function createProcessExecutor(options: ProcessExecutorOptions = {}): Executor {
  const launcherPath =
    options.launcher === false ? undefined : (options.launcher ?? locateLauncher());
  const graceMs = options.killGraceMs ?? 5000;
  const pathVar = options.path ?? process.env['PATH'] ?? DEFAULT_PATH;
  let launcher: Launcher | undefined;

  async function run(ctx: ExecContext): Promise<ExecOutcome> {
    const { job, scratch, agent } = ctx;
    const prefix = ctx.filePrefix ?? '.aloft';
    const exe = job.executable;
    const args = job.args ?? [];
    let outcome = emptyOutcome('process', [exe?.pfn ?? '', ...args]);
    if (!exe) return fail(outcome, 'infrastructure', `job ${job.id} names no executable`);
    if (exe.container) {
      return fail(
        outcome,
        'infrastructure',
        `job ${job.id} needs a ${exe.container.type} container (${exe.container.image}); this agent runs docker containers only`,
      );
    }
    if (exe.pfn.startsWith('aloft:')) {
      // Builtins other than aloft:synthetic (dispatched elsewhere) are not processes; the
      // planner emits aloft:subworkflow for Pegasus sub-workflow jobs.
      return fail(
        outcome,
        'infrastructure',
        exe.pfn === 'aloft:subworkflow'
          ? `job ${job.id} is a sub-workflow (pegasusWorkflow); this agent cannot run nested workflows yet — run the inner workflow with its own 'aloft run'`
          : `job ${job.id} names builtin ${exe.pfn}, which this agent does not provide`,
      );
    }

    const command = await commandOf(ctx, exe, outcome);
    if ('failed' in command) return command.failed;
    const { argv } = command;
    const argv0 = argv[0]!;
    outcome = { ...outcome, argv };

    const { stdoutPath, stderrPath } = stdioPaths(job, scratch, prefix);
    // Scratch exists; only stdio lfns with directories need more (one mkdir saved per job).
    for (const p of new Set([stdoutPath, stderrPath])) {
      if (path.dirname(p) !== scratch) await mkdir(path.dirname(p), { recursive: true });
    }
    ctx.signal.throwIfAborted();
    const env = jobEnvironment(job, ctx, pathVar);
    const stdinPath = job.stdin ? scratchPath(scratch, job.stdin) : undefined;

    if (launcherPath === undefined) {
      return runSpawned(ctx, outcome, argv, env, { stdinPath, stdoutPath, stderrPath });
    }

    launcher ??= createLauncher(launcherPath, ctx.logger);
    const launch = launcher.run({
      argv,
      env,
      cwd: scratch,
      ...(stdinPath !== undefined ? { stdin: stdinPath } : {}),
      stdout: stdoutPath,
      stderr: stderrPath,
      // The agent's own log files say nothing when empty; job-named ones are outputs.
      dropEmpty: { stdout: !job.stdout, stderr: !job.stderr },
    });
    const timers: NodeJS.Timeout[] = [];
    const onAbort = (): void => {
      ctx.logger.debug({ job: job.id }, 'stopping job process');
      launch.signal('TERM');
      timers.push(setTimeout(() => launch.signal('KILL'), graceMs));
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let r: LaunchResult;
    try {
      r = await launch.done;
    } catch (e) {
      return fail(
        outcome,
        'infrastructure',
        `job ${job.id} lost its launcher on agent ${agent}: ${(e as Error).message}`,
      );
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      for (const t of timers) clearTimeout(t);
    }

    const [so, se] = await Promise.all([
      r.stdoutBytes > 0 ? readTail(stdoutPath) : NO_TAIL,
      stderrPath !== stdoutPath && r.stderrBytes > 0 ? readTail(stderrPath) : NO_TAIL,
    ]);
    outcome = {
      ...outcome,
      exitCode: r.exit,
      signal: r.signal,
      utimeMs: r.utimeUs / 1000,
      stimeMs: r.stimeUs / 1000,
      maxRssKb: r.maxRssKb,
      stdoutTail: so.tail,
      stdoutBytes: so.bytes,
      stderrTail: se.tail,
      stderrBytes: se.bytes,
    };
    if (r.setupWhat !== null) {
      return setupFailure(outcome, r, job, agent, {
        ...(stdinPath !== undefined ? { stdin: stdinPath } : {}),
        stdout: stdoutPath,
        stderr: stderrPath,
        cwd: scratch,
      });
    }
    if (r.execError !== null) {
      const errno = (r.execErrno !== null && ERRNO_NAMES.get(r.execErrno)) || 'EIO';
      return execFailure(outcome, argv0, agent, errno, r.execError);
    }
    return judgeExit(outcome, job, argv0);
  }

  /** Without aloft-launcher: Node's spawn, own process group, usage sampled from /proc. */
  async function runSpawned(
    ctx: ExecContext,
    start: ExecOutcome,
    argv: string[],
    env: Record<string, string>,
    paths: { stdinPath: string | undefined; stdoutPath: string; stderrPath: string },
  ): Promise<ExecOutcome> {
    const { job, scratch, agent } = ctx;
    const { stdinPath, stdoutPath, stderrPath } = paths;
    const argv0 = argv[0]!;
    let outcome = start;
    const handles: FileHandle[] = [];
    let stdinFd: number | 'ignore' = 'ignore';
    let stdoutFd: number;
    let stderrFd: number;
    try {
      if (stdinPath !== undefined) {
        try {
          const h = await open(stdinPath, 'r');
          handles.push(h);
          stdinFd = h.fd;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          return fail(outcome, 'data', `stdin file ${job.stdin} of job ${job.id} is missing`, {
            missingFiles: job.stdin ? [job.stdin] : [],
          });
        }
      }
      const out = await open(stdoutPath, 'w');
      handles.push(out);
      stdoutFd = out.fd;
      if (stderrPath === stdoutPath) {
        stderrFd = out.fd;
      } else {
        const err = await open(stderrPath, 'w');
        handles.push(err);
        stderrFd = err.fd;
      }
    } catch (e) {
      await Promise.all(handles.map((h) => h.close()));
      throw e;
    }

    let child: ChildProcess;
    let ended: Promise<Ended>;
    try {
      child = spawn(argv0, argv.slice(1), {
        cwd: scratch,
        env,
        stdio: [stdinFd, stdoutFd, stderrFd],
        detached: true,
      });
      // Listen before anything else can run: spawn errors arrive on the next tick.
      const c = child;
      ended = new Promise<Ended>((resolve) => {
        c.once('error', (error: NodeJS.ErrnoException) =>
          resolve({ code: null, signal: null, error }),
        );
        c.once('close', (code, signal) => resolve({ code, signal }));
      });
    } finally {
      // The child has its own copies of the descriptors now.
      await Promise.all(handles.map((h) => h.close()));
    }

    const stopUsage = child.pid !== undefined ? sampleUsage(child.pid) : undefined;
    const timers: NodeJS.Timeout[] = [];
    const onAbort = (): void => {
      ctx.logger.debug({ job: job.id, pid: child.pid }, 'stopping job process');
      signalGroup(child.pid, 'SIGTERM');
      timers.push(setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs));
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    const end = await ended;
    ctx.signal.removeEventListener('abort', onAbort);
    for (const t of timers) clearTimeout(t);
    // Leftovers of the job's group do not outlive it either.
    if (end.error === undefined) signalGroup(child.pid, 'SIGKILL');
    const usage: Usage = stopUsage?.() ?? { utimeMs: 0, stimeMs: 0, maxRssKb: 0 };

    const [so, se] = await Promise.all([
      readTail(stdoutPath),
      stderrPath === stdoutPath ? NO_TAIL : readTail(stderrPath),
    ]);
    outcome = {
      ...outcome,
      stdoutTail: so.tail,
      stdoutBytes: so.bytes,
      stderrTail: se.tail,
      stderrBytes: se.bytes,
    };
    if (end.error) {
      const errno = end.error.code ?? 'EIO';
      return execFailure(outcome, argv0, agent, errno, end.error.message);
    }
    outcome = { ...outcome, exitCode: end.code, signal: end.signal, ...usage };
    return judgeExit(outcome, job, argv0);
  }

  return {
    name: 'process',
    run,
    async close() {
      await launcher?.close();
    },
  };
}
