/**
 * Resource usage without kickstart (documented fallback, used when no C compiler was
 * available at build time): sample /proc/<pid>/stat (utime, stime) and /proc/<pid>/status
 * (VmHWM, the peak resident set) every 100 ms while the process runs. Coarser than
 * wait4's rusage: it sees only the job's main process (not its children) and misses what
 * happens in the last interval; a job shorter than one interval may report zeros.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux Node runs on. */
const CLK_TCK = 100;

export interface Usage {
  utimeMs: number;
  stimeMs: number;
  maxRssKb: number;
}

function sample(pid: number, into: Usage): void {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces and parens) start at state.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    if (Number.isFinite(utime)) into.utimeMs = Math.max(into.utimeMs, (utime * 1000) / CLK_TCK);
    if (Number.isFinite(stime)) into.stimeMs = Math.max(into.stimeMs, (stime * 1000) / CLK_TCK);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    if (m?.[1]) into.maxRssKb = Math.max(into.maxRssKb, Number(m[1]));
  } catch {
    // gone already, or not Linux: keep what we have
  }
}

/** Start sampling `pid`; call the returned function when it has exited to get the totals. */
export function sampleUsage(pid: number, intervalMs = 100): () => Usage {
  const usage: Usage = { utimeMs: 0, stimeMs: 0, maxRssKb: 0 };
  sample(pid, usage);
  const timer = setInterval(() => sample(pid, usage), intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    return usage;
  };
}
