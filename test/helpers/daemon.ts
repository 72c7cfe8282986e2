/**
 * Long-running `aloft` processes for tests (scheduler, agents): spawned from dist/, ready
 * when their stderr matches a pattern, stopped by pid (SIGTERM, or SIGKILL for crash tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, REPO, type CliResult } from './cli.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Daemon {
  proc: ChildProcess;
  stderr(): string;
  /** SIGTERM by pid; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL by pid (a crash); resolves when the process is gone. */
  kill(): Promise<void>;
  /** Resolves when the process exits by itself or is stopped: its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface DaemonOptions {
  /** Extra environment variables (over the test's own environment). */
  env?: Record<string, string>;
}

/** Spawn `aloft ARGS` and wait until its stderr matches `ready`. */
export async function daemon(
  args: string[],
  ready: RegExp,
  cwd = REPO,
  options: DaemonOptions = {},
): Promise<Daemon> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, ALOFT_SCHEDULER: '', ALOFT_TOKEN: '', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => r({ code, signal })),
  );
  const exited = ended.then((e) => e.code);
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const d: Daemon = {
    proc,
    stderr: () => err,
    exited: ended,
    async stop() {
      if (alive()) proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (alive()) proc.kill('SIGKILL');
      await exited;
    },
  };
  for (let waited = 0; !ready.test(err); waited += 50) {
    if (proc.exitCode !== null || waited > 30_000) {
      await d.stop();
      throw new Error(`aloft ${args[0]} did not start:\n${err}`);
    }
    await sleep(50);
  }
  return d;
}

/** What `aloft scheduler` prints on stderr once its control API listens. */
export const SCHEDULER_READY = /scheduler listening on (\S+)/;

/** The control API address (HOST:PORT) a started scheduler daemon printed. */
export function schedulerAddress(sched: Daemon): string {
  const m = SCHEDULER_READY.exec(sched.stderr());
  if (!m?.[1]) throw new Error(`the scheduler printed no address: ${sched.stderr()}`);
  return m[1];
}

/** Poll `aloft agents --json` (through `client`) until it lists `n` agents. */
export async function waitForAgents(
  client: (args: string[]) => Promise<CliResult>,
  n: number,
  timeoutMs = 30_000,
): Promise<void> {
  for (let waited = 0; ; waited += 100) {
    const r = await client(['agents', '--json']);
    if (r.code === 0 && (JSON.parse(r.stdout) as { agents: unknown[] }).agents.length === n) {
      return;
    }
    if (waited > timeoutMs) throw new Error(`agents never registered: ${r.stderr}`);
    await sleep(100);
  }
}
