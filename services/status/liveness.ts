/**
 * Is the engine of a run still alive? Decides between `running` and `interrupted` for a
 * run whose journal has no run_finished. Cheap (no journal parsing), checked in order:
 *
 * 1. The run directory's lock file (`runPaths(dir).lock`, written by `aloft run` while it
 *    holds the run, removed when it ends) naming a pid (plain number, or JSON with a
 *    numeric `pid`): live iff that process exists (`kill(pid, 0)`; EPERM counts as alive).
 *    A lock left behind by kill -9 names a dead pid: not live.
 * 2. Linux: a process holding `journal.jsonl` open for writing (scan of /proc/<pid>/fd and
 *    the flags in /proc/<pid>/fdinfo; the engine keeps its journal open while it runs, and
 *    readers such as another `aloft status -w` do not count). None → not live.
 * 3. No /proc: the journal was written to in the last `recentMs` (default 60 s).
 *
 * Limits: a lock pid reused by an unrelated process reads as alive; /proc only shows
 * processes of this host (and, when not root, of this user) — a run driven from another
 * machine over a shared filesystem needs the lock file.
 */
import { readFile, readdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { runPaths } from '../run/index.js';
import type { Liveness } from './status-view.js';

export interface ProbeOptions {
  signal?: AbortSignal;
  /** Fallback only (no /proc): a journal written to this recently counts as live. */
  recentMs?: number;
  /** Where the process table is (tests may point elsewhere); default /proc. */
  procDir?: string;
}

export async function probeLiveness(runDir: string, o: ProbeOptions = {}): Promise<Liveness> {
  const paths = runPaths(runDir);
  const lockPid = await readLockPid(paths.lock);
  if (lockPid !== undefined) {
    const live = pidAlive(lockPid);
    return {
      live,
      pid: lockPid,
      detail: live ? `pid ${lockPid}` : `pid ${lockPid} of the run's lock file is not alive`,
    };
  }
  const journal = paths.journal;
  const holder = await findHolder(journal, o.procDir ?? '/proc', o.signal);
  if (holder === null) {
    return { live: false, detail: 'no process has the journal open' };
  }
  if (holder !== undefined) return { live: true, pid: holder, detail: `pid ${holder}` };
  const recentMs = o.recentMs ?? 60_000;
  try {
    const ageMs = Date.now() - (await stat(journal)).mtimeMs;
    return ageMs <= recentMs
      ? { live: true, detail: `journal written ${Math.round(ageMs / 1000)}s ago` }
      : { live: false, detail: `journal idle for ${Math.round(ageMs / 1000)}s` };
  } catch {
    return { live: false, detail: 'no journal' };
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLockPid(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let pid: unknown;
  try {
    const v: unknown = JSON.parse(text);
    pid = typeof v === 'object' && v !== null ? (v as { pid?: unknown }).pid : v;
  } catch {
    pid = Number(/\d+/.exec(text)?.[0]);
  }
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * The pid of a process (not us) with `file` open for writing; null when the process table was
 * readable and nobody has it open; undefined when there is no process table to ask.
 */
async function findHolder(
  file: string,
  procDir: string,
  signal?: AbortSignal,
): Promise<number | null | undefined> {
  let target: string;
  let pids: string[];
  try {
    target = await realpath(file);
    pids = (await readdir(procDir)).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  if (pids.length === 0) return undefined;
  for (const p of pids) {
    signal?.throwIfAborted();
    const pid = Number(p);
    if (pid === process.pid) continue;
    const fdDir = path.join(procDir, p, 'fd');
    let fds: string[];
    try {
      fds = await readdir(fdDir);
    } catch {
      continue; // gone, or not ours to look at
    }
    const links = await Promise.all(
      fds.map((fd) => readlink(path.join(fdDir, fd)).catch(() => '')),
    );
    for (let k = 0; k < fds.length; k++) {
      if (links[k] === target && (await openForWriting(path.join(procDir, p, 'fdinfo', fds[k]!)))) {
        return pid;
      }
    }
  }
  return null;
}

/** From /proc/<pid>/fdinfo/<fd>: opened O_WRONLY or O_RDWR. Unreadable → assume so. */
async function openForWriting(fdinfo: string): Promise<boolean> {
  try {
    const m = /^flags:\s*([0-7]+)/m.exec(await readFile(fdinfo, 'utf8'));
    return m === null || (parseInt(m[1]!, 8) & 0o3) !== 0;
  } catch {
    return true;
  }
}
