/**
 * The statistics projection (pegasus-statistics' job): a pure fold over journal events and
 * the plan into aggregate numbers. O(1) work per event and memory proportional to the
 * number of transformations, sites and agents, not to the number of attempts.
 *
 * Definitions (all times from the journal and the invocation records):
 * - workflow wall time: first run_started → the end of the last active period;
 *   active periods: each run_started until its run_finished, or — when the process died
 *   without one — until the last event before the next run_started (or the last event).
 *   A live run's open period ends at its latest event.
 * - cumulative job wall time: sum of `durationMs` over every finished attempt.
 * - cumulative badput: the same over failed attempts (cancelled ones included: their
 *   time was spent and thrown away).
 * - jobs by kind: succeeded / failed / incomplete from the shared job states (StatusFold),
 *   retries = job_retry events except after cancellations, attempts = attempt_started events.
 * - per transformation (transformationOf), site and agent: over invocations (attempts).
 * - bytes staged: sum of TransferRecord.bytes of every attempt; integrity: output files of
 *   successful attempts that carry a sha256.
 */
import type { JournalEvent } from '../journal/events.js';
import type { Plan, PlannedJobKind } from '../../proto/plan.js';
import {
  StatusFold,
  statusView,
  transformationOf,
  type Liveness,
  type RunState,
} from '../status/index.js';

export interface KindRow {
  succeeded: number;
  failed: number;
  incomplete: number;
  total: number;
  retries: number;
  attempts: number;
}

export interface TransformationRow {
  transformation: string;
  /** Invocations (attempts) that finished. */
  count: number;
  succeeded: number;
  failed: number;
  minRuntimeSec: number;
  maxRuntimeSec: number;
  meanRuntimeSec: number;
  maxRssMb: number;
  totalCpuSec: number;
}

export interface PlaceRow {
  name: string;
  attempts: number;
  succeeded: number;
  failed: number;
  runtimeSec: number;
}

export interface StatsView {
  workflow: string;
  runDir: string;
  state: RunState;
  wall: {
    seconds: number;
    activeSeconds: number;
    periods: number;
    firstStart?: string;
    lastEnd?: string;
  };
  cumulativeJobWallSec: number;
  cumulativeBadputSec: number;
  jobs: { byKind: Partial<Record<PlannedJobKind, KindRow>>; total: KindRow };
  transformations: TransformationRow[];
  sites: PlaceRow[];
  agents: PlaceRow[];
  transfers: { count: number; bytes: number; seconds: number; failovers: number; verified: number };
  integrity: { outputFiles: number; withSha256: number; withoutSha256: number };
}

interface TrAgg {
  count: number;
  succeeded: number;
  failed: number;
  minMs: number;
  maxMs: number;
  sumMs: number;
  maxRssKb: number;
  cpuMs: number;
}

interface PlaceAgg {
  attempts: number;
  succeeded: number;
  failed: number;
  runtimeMs: number;
}

export class StatsFold {
  readonly status: StatusFold;
  private readonly trOf = new Map<string, string>();
  private readonly kindOf = new Map<string, PlannedJobKind>();
  private readonly trs = new Map<string, TrAgg>();
  private readonly sites = new Map<string, PlaceAgg>();
  private readonly agents = new Map<string, PlaceAgg>();
  private readonly retries = new Map<PlannedJobKind, number>();
  private readonly attempts = new Map<PlannedJobKind, number>();

  private firstStartMs: number | undefined;
  private firstStart: string | undefined;
  private periodStartMs: number | undefined;
  private lastEventMs: number | undefined;
  private lastEventTs: string | undefined;
  private activeMs = 0;
  private periods = 0;
  private jobMs = 0;
  private badputMs = 0;
  private transfers = { count: 0, bytes: 0, ms: 0, failovers: 0, verified: 0 };
  private integrity = { outputFiles: 0, withSha256: 0, withoutSha256: 0 };

  constructor(private readonly plan: Plan) {
    this.status = new StatusFold(plan.jobs);
    for (const j of plan.jobs) {
      this.trOf.set(j.id, transformationOf(j));
      this.kindOf.set(j.id, j.kind);
    }
  }

  apply(e: JournalEvent): void {
    this.status.apply(e);
    const ms = Date.parse(e.ts);
    const t = Number.isFinite(ms) ? ms : this.lastEventMs;
    switch (e.type) {
      case 'run_started':
        if (t !== undefined) {
          // A period left open (the process died) ends at the last event before this start.
          this.closePeriod(this.lastEventMs);
          this.periodStartMs = t;
          this.periods++;
          if (this.firstStartMs === undefined) {
            this.firstStartMs = t;
            this.firstStart = e.ts;
          }
        }
        break;
      case 'run_finished':
        this.closePeriod(t);
        break;
      case 'attempt_started': {
        const kind = this.kindOf.get(e.job);
        if (kind) this.attempts.set(kind, (this.attempts.get(kind) ?? 0) + 1);
        break;
      }
      case 'job_retry': {
        // A cancelled attempt (Ctrl-C, a process that died) is re-run, but is not a retry.
        if (e.failure.kind === 'cancelled') break;
        const kind = this.kindOf.get(e.job);
        if (kind) this.retries.set(kind, (this.retries.get(kind) ?? 0) + 1);
        break;
      }
      case 'attempt_finished':
        this.finished(e);
        break;
      default:
        break;
    }
    if (t !== undefined) {
      this.lastEventMs = t;
      this.lastEventTs = e.ts;
    }
  }

  view(o: { runDir: string; liveness: Liveness }): StatsView {
    const sv = statusView(this.status, {
      runDir: o.runDir,
      liveness: o.liveness,
      workflow: this.plan.workflow.name,
    });
    const open =
      this.periodStartMs !== undefined && this.lastEventMs !== undefined
        ? Math.max(0, this.lastEventMs - this.periodStartMs)
        : 0;
    const wallMs =
      this.firstStartMs !== undefined && this.lastEventMs !== undefined
        ? Math.max(0, this.lastEventMs - this.firstStartMs)
        : 0;
    const byKind: Partial<Record<PlannedJobKind, KindRow>> = {};
    const total: KindRow = zeroKind();
    for (const [kind, c] of Object.entries(sv.byKind) as [
      PlannedJobKind,
      (typeof sv.byKind)[PlannedJobKind],
    ][]) {
      if (!c) continue;
      const row: KindRow = {
        succeeded: c.done,
        failed: c.failed,
        incomplete: c.total - c.done - c.failed,
        total: c.total,
        retries: this.retries.get(kind) ?? 0,
        attempts: this.attempts.get(kind) ?? 0,
      };
      byKind[kind] = row;
      for (const k of Object.keys(total) as (keyof KindRow)[]) total[k] += row[k];
    }
    const wall: StatsView['wall'] = {
      seconds: sec(wallMs),
      activeSeconds: sec(this.activeMs + open),
      periods: this.periods,
    };
    if (this.firstStart !== undefined) wall.firstStart = this.firstStart;
    if (this.lastEventTs !== undefined) wall.lastEnd = this.lastEventTs;
    return {
      workflow: sv.workflow,
      runDir: o.runDir,
      state: sv.state,
      wall,
      cumulativeJobWallSec: sec(this.jobMs),
      cumulativeBadputSec: sec(this.badputMs),
      jobs: { byKind, total },
      transformations: [...this.trs.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, a]) => ({
          transformation: name,
          count: a.count,
          succeeded: a.succeeded,
          failed: a.failed,
          minRuntimeSec: sec(a.count > 0 ? a.minMs : 0),
          maxRuntimeSec: sec(a.maxMs),
          meanRuntimeSec: sec(a.count > 0 ? a.sumMs / a.count : 0),
          maxRssMb: round(a.maxRssKb / 1024, 1),
          totalCpuSec: sec(a.cpuMs),
        })),
      sites: places(this.sites),
      agents: places(this.agents),
      transfers: {
        count: this.transfers.count,
        bytes: this.transfers.bytes,
        seconds: sec(this.transfers.ms),
        failovers: this.transfers.failovers,
        verified: this.transfers.verified,
      },
      integrity: { ...this.integrity },
    };
  }

  private finished(e: Extract<JournalEvent, { type: 'attempt_finished' }>): void {
    const r = e.record;
    const ms = num(r?.durationMs);
    this.jobMs += ms;
    if (!e.ok) this.badputMs += ms;
    const name = this.trOf.get(e.job) ?? 'unknown';
    let a = this.trs.get(name);
    if (!a) {
      a = {
        count: 0,
        succeeded: 0,
        failed: 0,
        minMs: Infinity,
        maxMs: 0,
        sumMs: 0,
        maxRssKb: 0,
        cpuMs: 0,
      };
      this.trs.set(name, a);
    }
    a.count++;
    if (e.ok) a.succeeded++;
    else a.failed++;
    a.minMs = Math.min(a.minMs, ms);
    a.maxMs = Math.max(a.maxMs, ms);
    a.sumMs += ms;
    a.maxRssKb = Math.max(a.maxRssKb, num(r?.maxRssKb));
    a.cpuMs += num(r?.utimeMs) + num(r?.stimeMs);
    place(this.sites, r?.site || '(unknown)', e.ok, ms);
    place(this.agents, r?.agent || '(unknown)', e.ok, ms);
    for (const x of r?.transfers ?? []) {
      this.transfers.count++;
      this.transfers.bytes += num(x.bytes);
      this.transfers.ms += num(x.durationMs);
      this.transfers.failovers += x.failedSources?.length ?? 0;
      if (x.sha256) this.transfers.verified++;
    }
    if (e.ok) {
      for (const f of r?.files ?? []) {
        if (f.link !== 'output') continue;
        this.integrity.outputFiles++;
        if (f.sha256) this.integrity.withSha256++;
        else this.integrity.withoutSha256++;
      }
    }
  }

  private closePeriod(endMs: number | undefined): void {
    if (this.periodStartMs === undefined || endMs === undefined) return;
    this.activeMs += Math.max(0, endMs - this.periodStartMs);
    this.periodStartMs = undefined;
  }
}

function place(m: Map<string, PlaceAgg>, name: string, ok: boolean, ms: number): void {
  let p = m.get(name);
  if (!p) {
    p = { attempts: 0, succeeded: 0, failed: 0, runtimeMs: 0 };
    m.set(name, p);
  }
  p.attempts++;
  if (ok) p.succeeded++;
  else p.failed++;
  p.runtimeMs += ms;
}

function places(m: Map<string, PlaceAgg>): PlaceRow[] {
  return [...m.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, p]) => ({
      name,
      attempts: p.attempts,
      succeeded: p.succeeded,
      failed: p.failed,
      runtimeSec: sec(p.runtimeMs),
    }));
}

function zeroKind(): KindRow {
  return { succeeded: 0, failed: 0, incomplete: 0, total: 0, retries: 0, attempts: 0 };
}

/** A finite non-negative number from a record field, else 0 (records are data from afar). */
function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

function sec(ms: number): number {
  return round(ms / 1000, 3);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
