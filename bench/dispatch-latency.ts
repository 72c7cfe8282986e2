/**
 * bench/dispatch-latency — what a run's journal says about dispatch overhead.
 *
 * Ready-to-running latency of a job (the benchmark's definition):
 *   ready   = ts of the journaled `job_succeeded` of its LAST parent (the latest one), or the
 *             `run_started` ts for a job without parents;
 *   running = ts of the job's first journaled `attempt_started` (the engine journals it on
 *             receiving the agent's AttemptStarted message, which the agent sends just
 *             before it spawns the process).
 * So it covers: waiting for a free slot when more jobs are ready than there are slots
 * (queueing, in priority order — deeper jobs first, so a late root can wait long), the
 * engine noticing readiness, matchmaking, the offer round trip, the agent preparing the
 * scratch dir, and the AttemptStarted message reaching the journal.
 *
 * Dispatch overhead, the same without the queueing: `running - max(ready, slotFree)`, where
 * slotFree is when the slot the job took became free as the journal sees it (replaying the
 * journal in order with `slots` slots: each attempt_started takes the slot freed earliest,
 * each attempt_finished frees one; all are free at run_started).
 * Journal timestamps have millisecond resolution, so values are whole milliseconds.
 *
 * Besides the latency, `profileJournal` splits each job's life into the phases that the
 * journal can see (means over all jobs), for the profile note of the report:
 *   ready → started      (as above)
 *   started → finished   (attempt_started → attempt_finished: spawn, run, wait, stage-out,
 *                          outbox write, result message, journal group commit)
 *   record.durationMs    (the agent's own measure of the whole attempt)
 *   finished → succeeded (attempt_finished → job_succeeded)
 */
import type { JournalEvent } from '../services/journal/index.js';

export interface LatencySummary {
  jobs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface JournalProfile {
  latency: LatencySummary;
  /** Ready-to-running minus the wait for a free slot. */
  overhead: LatencySummary;
  /** run_started → run_finished, ms. */
  runMs: number;
  /** Means per job, ms. */
  startedToFinishedMs: number;
  agentDurationMs: number;
  finishedToSucceededMs: number;
  /** Agent-measured user + system CPU of the job processes, mean per job, ms. */
  jobCpuMs: number;
}

/** Nearest-rank percentile of an ascending array (`q` in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

const mean = (xs: readonly number[]): number =>
  xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;

function summarise(xs: number[]): LatencySummary {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    jobs: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1] ?? NaN,
    meanMs: mean(sorted),
  };
}

/**
 * Profile one run from its journal events and each planned job's parents. Only the last
 * `run_started` counts (a fresh run has one). Throws when a job never started: the run
 * did not complete, so its numbers would be meaningless.
 */
export function profileJournal(
  events: readonly JournalEvent[],
  parents: ReadonlyMap<string, readonly string[]>,
  slots: number,
): JournalProfile {
  let runStart = NaN;
  let runEnd = NaN;
  const started = new Map<string, number>();
  const finished = new Map<string, { at: number; durationMs: number; cpuMs: number }>();
  const succeeded = new Map<string, number>();
  /** When the slot each job's first attempt took became free. */
  const slotFree = new Map<string, number>();
  let free: number[] = [];
  for (const e of events) {
    const t = Date.parse(e.ts);
    switch (e.type) {
      case 'run_started':
        runStart = t;
        free = Array.from({ length: slots }, () => t);
        break;
      case 'run_finished':
        runEnd = t;
        break;
      case 'attempt_started': {
        let at = -Infinity;
        if (free.length > 0) {
          let k = 0;
          for (let i = 1; i < free.length; i++) if (free[i]! < free[k]!) k = i;
          at = free[k]!;
          free.splice(k, 1);
        }
        if (!started.has(e.job)) {
          started.set(e.job, t);
          slotFree.set(e.job, at);
        }
        break;
      }
      case 'attempt_finished':
        free.push(t);
        if (!finished.has(e.job)) {
          finished.set(e.job, {
            at: t,
            durationMs: e.record.durationMs,
            cpuMs: e.record.utimeMs + e.record.stimeMs,
          });
        }
        break;
      case 'job_succeeded':
        succeeded.set(e.job, t);
        break;
      default:
        break;
    }
  }
  const latencies: number[] = [];
  const overheads: number[] = [];
  const ran: number[] = [];
  const agent: number[] = [];
  const cpu: number[] = [];
  const settle: number[] = [];
  const missing: string[] = [];
  for (const [job, ps] of parents) {
    const s = started.get(job);
    let ready = ps.length === 0 ? runStart : -Infinity;
    for (const p of ps) ready = Math.max(ready, succeeded.get(p) ?? NaN);
    if (s === undefined || !Number.isFinite(ready)) {
      missing.push(job);
      continue;
    }
    latencies.push(s - ready);
    overheads.push(s - Math.max(ready, slotFree.get(job) ?? -Infinity));
    const f = finished.get(job);
    if (f) {
      ran.push(f.at - s);
      agent.push(f.durationMs);
      cpu.push(f.cpuMs);
      const ok = succeeded.get(job);
      if (ok !== undefined) settle.push(ok - f.at);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `${missing.length} job(s) have no attempt_started or a parent without job_succeeded in the journal (e.g. ${missing[0]}): the run did not complete`,
    );
  }
  return {
    latency: summarise(latencies),
    overhead: summarise(overheads),
    runMs: runEnd - runStart,
    startedToFinishedMs: mean(ran),
    agentDurationMs: mean(agent),
    finishedToSucceededMs: mean(settle),
    jobCpuMs: mean(cpu),
  };
}
