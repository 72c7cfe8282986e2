/**
 * bench/dispatch-daemons — the long-running processes bench/dispatch measures against:
 * a nats-server on free loopback ports (client port and HTTP monitoring, whose /connz
 * counts the messages each connection received), the real `aloft scheduler` and `aloft
 * agent` processes from dist/, and the `aloft` control CLI run against the scheduler.
 * Everything started here is stopped by pid.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, start, stop, type ChildRun } from './dispatch-procs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The built CLI (bench/dispatch runs from dist/bench). */
export const CLI_MAIN = path.join(here, '..', 'cli', 'main.js');
export const NATS_SERVER_BIN = '/usr/sbin/nats-server';
/** The control API token of the schedulers started here (loopback only). */
export const BENCH_TOKEN = 'aloft-bench-dispatch-token';
/** The NATS connection name `aloft scheduler` uses (cli/commands/scheduler.ts). */
export const SCHEDULER_CONNECTION_NAME = 'aloft-scheduler';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- nats-server ----

export interface NatsServer {
  url: string;
  /** http://127.0.0.1:PORT of the server's monitoring endpoint. */
  monitorUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/** A nats-server on free loopback ports (client and monitoring), its files in a tmp dir. */
export async function startNatsServer(): Promise<NatsServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aloft-bench-nats-'));
  const conf = path.join(dir, 'nats-server.conf');
  // JSON is valid nats-server config. Port -1 = a free port; both go to the ports file.
  await writeFile(
    conf,
    JSON.stringify({ host: '127.0.0.1', port: -1, http: '127.0.0.1:-1', ports_file_dir: dir }),
  );
  const child = start(NATS_SERVER_BIN, ['-c', conf, '-l', path.join(dir, 'server.log')], dir);
  child.stdout?.resume();
  child.stderr?.resume();
  const stopServer = async (): Promise<void> => {
    await stop(child, 10_000);
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 500; i++) {
    if (child.exitCode !== null) break;
    const file = (await readdir(dir)).find((f) => f.endsWith('.ports'));
    const text = file ? await readFile(path.join(dir, file), 'utf8').catch(() => '') : '';
    const ports = text
      ? (JSON.parse(text) as { nats?: string[]; monitoring?: string[] })
      : undefined;
    const url = ports?.nats?.[0];
    const monitorUrl = ports?.monitoring?.[0];
    if (url && monitorUrl && child.pid !== undefined) {
      return { url, monitorUrl, pid: child.pid, stop: stopServer };
    }
    await sleep(20);
  }
  const log = await readFile(path.join(dir, 'server.log'), 'utf8').catch(() => '');
  await stopServer();
  throw new Error(`nats-server did not start:\n${log}`);
}

export interface ConnectionStats {
  cid: number;
  name: string;
  /** Messages the server delivered to this connection. */
  outMsgs: number;
  /** Messages this connection published. */
  inMsgs: number;
}

/** Every client connection of the server, from its monitoring endpoint's /connz. */
export async function connections(
  monitorUrl: string,
  signal?: AbortSignal,
): Promise<ConnectionStats[]> {
  const res = await fetch(`${monitorUrl}/connz?limit=1000000`, signal ? { signal } : {});
  if (!res.ok) throw new Error(`${monitorUrl}/connz: HTTP ${res.status}`);
  const body = (await res.json()) as {
    connections?: { cid: number; name?: string; in_msgs: number; out_msgs: number }[];
  };
  return (body.connections ?? []).map((c) => ({
    cid: c.cid,
    name: c.name ?? '',
    outMsgs: c.out_msgs,
    inMsgs: c.in_msgs,
  }));
}

// ---- aloft daemons ----

export interface Daemon {
  child: ChildProcess;
  pid: number;
  /** Everything it printed on stderr so far. */
  stderr(): string;
  /** SIGTERM by pid and wait (SIGKILL after 30 s); resolves to the exit code. */
  stop(): Promise<number | null>;
}

export interface SchedulerDaemon extends Daemon {
  /** HOST:PORT of its control API. */
  address: string;
}

/**
 * Start `node [nodeArgs] dist/cli/main.js ARGS` and resolve once its stderr matches
 * `ready`; rejects (after stopping it) when it exits first or takes over `timeoutMs`.
 */
async function startDaemon(
  args: string[],
  ready: RegExp,
  cwd: string,
  nodeArgs: string[] = [],
  timeoutMs = 60_000,
): Promise<Daemon> {
  const child = start(process.execPath, [...nodeArgs, CLI_MAIN, ...args], cwd);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout?.resume();
  const d: Daemon = {
    child,
    pid: child.pid!,
    stderr: () => err,
    stop: () => stop(child),
  };
  const t0 = performance.now();
  while (!ready.test(err)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`aloft ${args[0]} exited (${child.exitCode ?? child.signalCode}):\n${err}`);
    }
    if (performance.now() - t0 > timeoutMs) {
      await d.stop();
      throw new Error(`aloft ${args[0]} not ready after ${timeoutMs} ms:\n${err}`);
    }
    await sleep(20);
  }
  return d;
}

export interface SchedulerOptions {
  natsUrl: string;
  dataDir: string;
  cwd: string;
  nodeArgs?: string[];
}

/** `aloft scheduler --nats URL --data DIR --listen 127.0.0.1:0 --token BENCH_TOKEN`. */
export async function startScheduler(o: SchedulerOptions): Promise<SchedulerDaemon> {
  const listening = /scheduler listening on (\S+)/;
  const d = await startDaemon(
    [
      'scheduler',
      '--nats', o.natsUrl,
      '--data', o.dataDir,
      '--listen', '127.0.0.1:0',
      '--token', BENCH_TOKEN,
      '--log-level', 'warn',
    ], // prettier-ignore
    listening,
    o.cwd,
    o.nodeArgs,
  );
  return { ...d, address: listening.exec(d.stderr())![1]! };
}

export interface AgentOptions {
  natsUrl: string;
  id: string;
  site: string;
  workDir: string;
  slots: number;
  /** Attempts queued beyond the slots (`--prefetch`). */
  prefetch: number;
  cwd: string;
  nodeArgs?: string[];
}

/** `aloft agent --nats URL --id ID --site SITE --work DIR --slots N --prefetch P`. */
export function startAgent(o: AgentOptions): Promise<Daemon> {
  return startDaemon(
    [
      'agent',
      '--nats', o.natsUrl,
      '--id', o.id,
      '--site', o.site,
      '--work', o.workDir,
      '--slots', String(o.slots),
      '--prefetch', String(o.prefetch),
      '--log-level', 'warn',
    ], // prettier-ignore
    /serving site/,
    o.cwd,
    o.nodeArgs,
  );
}

/** `aloft ARGS --scheduler ADDRESS --token BENCH_TOKEN`, run to completion. */
export function control(address: string, args: string[], cwd: string): Promise<ChildRun> {
  return run(
    process.execPath,
    [CLI_MAIN, ...args, '--scheduler', address, '--token', BENCH_TOKEN],
    cwd,
  );
}

/**
 * Poll `aloft agents --json` until at least `n` agents are `ready`; resolves to the ms it
 * took. Rejects after `timeoutMs`, or when `abandon` settles first (a process the agents
 * depend on has ended).
 */
export async function waitForReadyAgents(
  address: string,
  n: number,
  cwd: string,
  timeoutMs: number,
  abandon?: Promise<unknown>,
): Promise<number> {
  const t0 = performance.now();
  let gaveUp: string | undefined;
  void abandon?.then(
    () => (gaveUp = 'ended'),
    (e: unknown) => (gaveUp = String(e)),
  );
  let last = '';
  for (;;) {
    const r = await control(address, ['agents', '--json'], cwd);
    if (r.code === 0) {
      const { agents } = JSON.parse(r.stdout) as { agents: { state: string }[] };
      const ready = agents.filter((a) => a.state === 'ready').length;
      if (ready >= n) return performance.now() - t0;
      last = `${ready} of ${n} agents ready`;
    } else {
      last = r.stderr.trim();
    }
    if (gaveUp !== undefined) throw new Error(`waiting for ${n} agents: a process ${gaveUp}`);
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`waiting for ${n} agents: gave up after ${timeoutMs} ms (${last})`);
    }
    await sleep(250);
  }
}
