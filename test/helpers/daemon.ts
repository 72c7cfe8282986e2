/**
 * Long-running `aloft` processes for tests (scheduler, agents): spawned from dist/, ready
 * when their stderr matches a pattern, stopped by pid (SIGTERM, or SIGKILL for crash tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, REPO, aloft, type CliResult } from './cli.js';

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

/**
 * `aloft scheduler` over `natsUrl` on a free loopback port, its data in `dataDir`, its
 * control API guarded by `token`, `flags` after those; resolves once it listens.
 */
export async function startSchedulerDaemon(o: {
  natsUrl: string;
  dataDir: string;
  token: string;
  flags?: string[];
}): Promise<{ daemon: Daemon; address: string }> {
  const d = await daemon(
    [
      'scheduler',
      '--nats', o.natsUrl,
      '--data', o.dataDir,
      '--listen', '127.0.0.1:0',
      '--token', o.token,
      '--log-level', 'warn',
      ...(o.flags ?? []),
    ],
    SCHEDULER_READY,
  ); // prettier-ignore
  return { daemon: d, address: schedulerAddress(d) };
}

/** `aloft agent ID` at `site`, work dir `workDir`, 300 ms heartbeats, `flags` after; serving. */
export function startAgentDaemon(o: {
  natsUrl: string;
  id: string;
  site: string;
  workDir: string;
  flags?: string[];
}): Promise<Daemon> {
  return daemon(
    [
      'agent', '--nats', o.natsUrl, '--site', o.site, '--id', o.id,
      '--work', o.workDir, '--heartbeat', '300ms', '--log-level', 'warn',
      ...(o.flags ?? []),
    ],
    /serving site/,
  ); // prettier-ignore
}

/**
 * The CLI against a scheduler (its address read at each call, so it may be set after
 * this is made), blind to the test's own ALOFT_SCHEDULER / ALOFT_TOKEN.
 */
export function controlClient(
  address: () => string,
  token: string,
  options: { timeoutMs?: number } = {},
): (args: string[], cwd?: string) => Promise<CliResult> {
  return (args, cwd) =>
    aloft([...args, '--scheduler', address(), '--token', token], {
      env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' },
      ...(cwd ? { cwd } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
}
