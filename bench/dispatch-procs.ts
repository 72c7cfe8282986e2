/**
 * bench/dispatch-procs — the child processes of bench/dispatch: start one, wait for it,
 * stop it by pid, and read what /proc says about a live one (CPU seconds, memory). Every
 * child started here is tracked, so an interrupted benchmark stops exactly its own
 * processes (`stopChildren`) and nothing else.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

const alive = (child: ChildProcess): boolean =>
  child.exitCode === null && child.signalCode === null;

/** Spawn `cmd args` (argv, no shell) with stdout and stderr piped; tracked until it exits. */
export function start(cmd: string, args: string[], cwd: string): ChildProcess {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Collect `child`'s output until it exits; wallMs counts from `t0` (performance.now()). */
export function finish(child: ChildProcess, t0: number): Promise<ChildRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    // 'close': the process exited and its output is fully read.
    child.once('close', (code, signal) =>
      resolve({ code, signal, wallMs: performance.now() - t0, stdout, stderr }),
    );
  });
}

/** Run `cmd args` to completion. */
export function run(cmd: string, args: string[], cwd: string): Promise<ChildRun> {
  const t0 = performance.now();
  return finish(start(cmd, args, cwd), t0);
}

/** One line saying how a child run failed, with the last lines it printed. */
export function failure(what: string, r: ChildRun): string {
  const last = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
  return `${what} failed (${r.signal ?? `exit ${r.code}`}): ${last}`;
}

/**
 * SIGTERM `child` by pid and wait for it to exit; SIGKILL after `graceMs`. Resolves to the
 * exit code (null when killed by a signal).
 */
export async function stop(child: ChildProcess, graceMs = 30_000): Promise<number | null> {
  if (!alive(child)) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (alive(child)) child.kill('SIGKILL');
  }, graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM every child still running (on an interrupt or a fatal error). */
export function stopChildren(): void {
  for (const c of children) if (alive(c)) c.kill('SIGTERM');
}

/** The first `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

// ---- /proc ----

let ticks: number | undefined;
/** Clock ticks per second of /proc/<pid>/stat's times (`getconf CLK_TCK`; 100 on Linux). */
function clockTicks(): number {
  if (ticks === undefined) {
    let n = NaN;
    try {
      n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      // getconf missing: Linux has used 100 (USER_HZ) on every architecture for decades.
    }
    ticks = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return ticks;
}

export interface CpuSample {
  /** utime + stime of the process itself, seconds. */
  selfS: number;
  /**
   * Its descendants, seconds: the live ones' utime + stime and the cutime + cstime of every
   * process in the tree (children that exited and were waited for). Monotonic: a child's
   * time moves into its parent's cutime when it is reaped. Covers jobs spawned directly and
   * jobs started by a long-lived helper (the agent's aloft-launcher) alike.
   */
  childrenS: number;
}

interface ProcStat {
  ppid: number;
  /** utime + stime, ticks. */
  self: number;
  /** cutime + cstime, ticks. */
  reaped: number;
}

function readStat(pid: number | string): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
  // Field 2 (comm) is parenthesised and may hold spaces; the rest start after its last ')'.
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(' ')
    .map(Number);
  // f[0] is field 3 (state); ppid is field 4; utime, stime, cutime, cstime are 14..17.
  return { ppid: f[1]!, self: f[11]! + f[12]!, reaped: f[13]! + f[14]! };
}

/**
 * CPU seconds of live process `pid` and of its process tree so far, from /proc/<pid>/stat
 * and every process's stat (throws if `pid` is gone).
 */
export function cpuOf(pid: number): CpuSample {
  const top = readStat(pid);
  if (!top) throw new Error(`process ${pid} is gone: no /proc/${pid}/stat`);
  const stats = new Map<number, ProcStat>();
  const kids = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(name);
    if (!st) continue;
    const child = Number(name);
    stats.set(child, st);
    let list = kids.get(st.ppid);
    if (!list) kids.set(st.ppid, (list = []));
    list.push(child);
  }
  const tree = (p: number): number => {
    let t = 0;
    for (const k of kids.get(p) ?? []) {
      const st = stats.get(k)!;
      t += st.self + st.reaped + tree(k);
    }
    return t;
  };
  const hz = clockTicks();
  return { selfS: top.self / hz, childrenS: (top.reaped + tree(pid)) / hz };
}

export const cpuDelta = (a: CpuSample, b: CpuSample): CpuSample => ({
  selfS: b.selfS - a.selfS,
  childrenS: b.childrenS - a.childrenS,
});

export interface MemorySample {
  /** Resident set now, MB. */
  rssMb: number;
  /** Peak resident set (VmHWM), MB. */
  peakRssMb: number;
}

/** Memory of live process `pid`, from /proc/<pid>/status (throws if it is gone). */
export function memoryOf(pid: number): MemorySample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${key}`);
    return Number(m[1]);
  };
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}
