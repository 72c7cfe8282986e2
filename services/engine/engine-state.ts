/**
 * The engine's state machine (DAGMan's job, Nomad-style): pure decisions over state, no I/O,
 * no timers, no clock. It owns job states, the ready queue, category throttles, retry
 * accounting and attempt fencing.
 *
 * The state is a projection of the journal: `apply` folds journal events into it, both when
 * replaying a journal and live. Decisions (`decideResult`, `accepted`, `resume`) return the
 * events to append and change nothing; the driver appends them and then applies them, so a
 * replay of the journal rebuilds exactly the state the live run had. The one piece of state
 * that is not journaled is an offer in flight (a job handed out by `take` whose acceptance
 * is not journaled yet): it never survives a restart, by design.
 *
 * Job states: unready -> ready -> running -> done | failed, with `retrying` between a failed
 * attempt and the next (waiting out the backoff delay the driver times).
 */
import type { AttemptKey, Failure, FailureKind, InvocationRecord } from '../../proto/attempt.js';
import { emptyInvocationRecord, type AttemptOutcome } from '../../proto/attempt.js';
import type { PlannedJob } from '../../proto/plan.js';
import { AloftError } from '../../lib/errors/index.js';
import { BinaryHeap } from '../../lib/heap/index.js';
import type { JournalEvent, NewEvent } from '../journal/index.js';

export type JobState = 'unready' | 'ready' | 'running' | 'retrying' | 'done' | 'failed';
export type CountState = 'unready' | 'ready' | 'running' | 'done' | 'failed';
export type Counts = Record<CountState, number>;

export interface EngineStateOptions {
  /** Most jobs of a category (Pegasus dagman category profile) running at once. */
  categoryLimits?: Record<string, number>;
  /** Infrastructure failures of one job that are free; later ones spend a retry (default 5). */
  maxInfrastructureFailures?: number;
  /**
   * Delay before a retry. `n` is 1 for the first retry of its kind: spent retries for
   * application/data/timeout failures, the infrastructure-failure count for infrastructure.
   * Cancelled attempts are retried without delay. Default: no delay.
   */
  retryDelay?: (n: number, kind: FailureKind) => number;
  /**
   * The epoch of each new attempt (default: one more than the highest seen). A scheduler
   * running several workflows supplies one counter for all, so an epoch names one attempt of
   * one workflow and results can be routed by it. Must return more than any epoch journaled.
   */
  nextEpoch?: () => number;
}

/** What to do with a result an agent reported. */
export type ResultVerdict =
  /** The current attempt finished: append these events, then ack. */
  | { kind: 'accept'; events: NewEvent[] }
  /** The attempt already finished and was journaled: ack and ignore. */
  | { kind: 'duplicate' }
  /** Not the job's current attempt (older attempt or epoch, unknown job): ack and ignore. */
  | { kind: 'stale'; why: string }
  /** The current attempt, but its acceptance is not journaled yet: hold it until it is. */
  | { kind: 'early' };

export interface Dispatch {
  job: PlannedJob;
  key: AttemptKey;
}

/** Where a running attempt runs, as journaled in attempt_started. */
export interface RunningAttempt {
  key: AttemptKey;
  agent: string;
  site: string;
  host: string;
  kind: PlannedJob['kind'];
}

interface Entry {
  job: PlannedJob;
  index: number;
  state: JobState;
  /** Parents not done yet. */
  waiting: number;
  children: number[];
  /** Last attempt number journaled as started (0 = none). */
  attempt: number;
  /** The attempt in flight (offered or running); null between attempts. */
  current: AttemptKey | null;
  /** True while `current` is offered but its acceptance is not journaled. */
  offered: boolean;
  where: { agent: string; site: string; host: string } | null;
  /** Retries spent (application, data, timeout; infrastructure past the cap). */
  spent: number;
  infra: number;
  /** An attempt_finished journaled without the decision that follows it (a crash between). */
  undecided: { attempt: number; ok: boolean; failure?: Failure } | null;
  lastFailure: Failure | null;
  /** Counts against its category throttle (offered or running). */
  holdsCategory: boolean;
  /** In EngineState.readyList. */
  listed?: boolean;
}

const SPENDS: ReadonlySet<FailureKind> = new Set(['application', 'data', 'timeout']);

const keyString = (k: AttemptKey): string => `${k.job}\u0000${k.attempt}\u0000${k.epoch}`;
const sameKey = (a: AttemptKey, b: AttemptKey): boolean =>
  a.job === b.job && a.attempt === b.attempt && a.epoch === b.epoch;

/** Dispatch order: priority desc, then plan order. */
const byDispatchOrder = (a: Entry, b: Entry): number =>
  b.job.priority - a.job.priority || a.index - b.index;

/** Priority desc, then plan order: a heap of entry indices. */
function readyQueue(entries: readonly Entry[]): BinaryHeap<number> {
  return new BinaryHeap<number>((a, b) => {
    const pa = entries[a]!.job.priority;
    const pb = entries[b]!.job.priority;
    return pa !== pb ? pa > pb : a < b;
  });
}

export class EngineState {
  private readonly entries: Entry[];
  private readonly byId = new Map<string, Entry>();
  private readonly queue: BinaryHeap<number>;
  /** readyJobs' last answer in dispatch order (may hold entries no longer ready). */
  private readyList: Entry[] = [];
  /** Entries made ready since readyJobs was last called. */
  private readyNew: Entry[] = [];
  /** Whether readyJobs was ever called (only then are readyList/readyNew kept). */
  private readyTracked = false;
  private readonly finishedKeys = new Set<string>();
  private readonly categoryRunning = new Map<string, number>();
  /** Ready jobs held back by their category's throttle, per category, in pop order. */
  private readonly throttled = new Map<string, number[]>();
  private readonly counts_: Record<JobState, number> = {
    unready: 0,
    ready: 0,
    running: 0,
    retrying: 0,
    done: 0,
    failed: 0,
  };
  private maxEpoch = 0;
  private retryEvents = 0;
  private readonly limits: Record<string, number>;
  private readonly infraCap: number;
  private readonly retryDelay: (n: number, kind: FailureKind) => number;
  private readonly nextEpoch: (() => number) | undefined;

  constructor(jobs: readonly PlannedJob[], options: EngineStateOptions = {}) {
    this.limits = options.categoryLimits ?? {};
    this.infraCap = options.maxInfrastructureFailures ?? 5;
    this.retryDelay = options.retryDelay ?? (() => 0);
    this.nextEpoch = options.nextEpoch;
    this.entries = jobs.map((job, index) => ({
      job,
      index,
      state: 'unready' as JobState,
      waiting: 0,
      children: [],
      attempt: 0,
      current: null,
      offered: false,
      where: null,
      spent: 0,
      infra: 0,
      undecided: null,
      lastFailure: null,
      holdsCategory: false,
    }));
    for (const e of this.entries) {
      if (this.byId.has(e.job.id)) {
        throw new AloftError('INVALID_ARGUMENT', `plan has two jobs with id '${e.job.id}'`);
      }
      this.byId.set(e.job.id, e);
    }
    for (const e of this.entries) {
      for (const p of new Set(e.job.parents)) {
        const parent = this.byId.get(p);
        if (!parent) {
          throw new AloftError(
            'INVALID_ARGUMENT',
            `plan job '${e.job.id}' names parent '${p}', which is not in the plan`,
          );
        }
        parent.children.push(e.index);
        e.waiting++;
      }
    }
    this.queue = readyQueue(this.entries);
    this.counts_.unready = this.entries.length;
    for (const e of this.entries) if (e.waiting === 0) this.makeReady(e);
  }

  // ---------------------------------------------------------------- queries

  get size(): number {
    return this.entries.length;
  }

  stateOf(job: string): JobState | undefined {
    return this.byId.get(job)?.state;
  }

  /** Attempt number last journaled as started for the job (0 = never started). */
  attemptOf(job: string): number {
    return this.byId.get(job)?.attempt ?? 0;
  }

  /** Per-state counts; `retrying` jobs count as ready (they wait only for their delay). */
  counts(): Counts {
    const c = this.counts_;
    return {
      unready: c.unready,
      ready: c.ready + c.retrying,
      running: c.running,
      done: c.done,
      failed: c.failed,
    };
  }

  /** job_retry events folded in so far (replayed and live). */
  retries(): number {
    return this.retryEvents;
  }

  /** Highest epoch journaled so far; new offers use larger ones. */
  epoch(): number {
    return this.maxEpoch;
  }

  /** Attempts journaled as started and not finished. */
  running(): RunningAttempt[] {
    const out: RunningAttempt[] = [];
    for (const e of this.entries) {
      if (e.state === 'running' && e.current && !e.offered && e.where) {
        out.push({ key: e.current, ...e.where, kind: e.job.kind });
      }
    }
    return out;
  }

  /** Jobs waiting out a retry delay. */
  retrying(): string[] {
    return this.entries.filter((e) => e.state === 'retrying').map((e) => e.job.id);
  }

  /** Nothing is ready, running or about to retry: the run is over (see `outcome`). */
  settled(): boolean {
    const c = this.counts_;
    return c.ready === 0 && c.running === 0 && c.retrying === 0;
  }

  /** Only meaningful once settled: every job done, or not. */
  outcome(): 'succeeded' | 'failed' {
    return this.counts_.done === this.entries.length ? 'succeeded' : 'failed';
  }

  // ---------------------------------------------------------------- the fold

  /** Fold one journal event (or one about to be appended) into the state. */
  apply(ev: JournalEvent | NewEvent): void {
    switch (ev.type) {
      case 'run_started':
      case 'run_finished':
        return;
      case 'attempt_started': {
        const e = this.entry(ev.job);
        if (!e) return;
        this.maxEpoch = Math.max(this.maxEpoch, ev.epoch);
        e.attempt = Math.max(e.attempt, ev.attempt);
        e.current = { job: ev.job, attempt: ev.attempt, epoch: ev.epoch };
        e.offered = false;
        e.where = { agent: ev.agent, site: ev.site, host: ev.host };
        e.undecided = null;
        if (e.state !== 'running') {
          this.move(e, 'running');
          this.holdCategory(e);
        }
        return;
      }
      case 'attempt_finished': {
        const e = this.entry(ev.job);
        if (!e) return;
        this.maxEpoch = Math.max(this.maxEpoch, ev.epoch);
        const key = { job: ev.job, attempt: ev.attempt, epoch: ev.epoch };
        this.finishedKeys.add(keyString(key));
        if (e.current && sameKey(e.current, key)) {
          e.current = null;
          e.where = null;
        }
        e.undecided = {
          attempt: ev.attempt,
          ok: ev.ok,
          ...(ev.failure ? { failure: ev.failure } : {}),
        };
        if (ev.failure) e.lastFailure = ev.failure;
        return;
      }
      case 'job_succeeded': {
        const e = this.entry(ev.job);
        if (!e || e.state === 'done') return;
        this.leaveRunning(e);
        e.undecided = null;
        this.move(e, 'done');
        for (const ci of e.children) {
          const child = this.entries[ci]!;
          child.waiting--;
          if (child.waiting === 0 && child.state === 'unready') this.makeReady(child);
        }
        return;
      }
      case 'job_retry': {
        const e = this.entry(ev.job);
        if (!e) return;
        this.retryEvents++;
        if (ev.resume && e.state === 'failed') {
          e.spent = 0;
          e.infra = 0;
        } else {
          this.countFailure(e, ev.failure.kind);
        }
        this.leaveRunning(e);
        e.undecided = null;
        e.lastFailure = ev.failure;
        e.attempt = Math.max(e.attempt, ev.nextAttempt - 1);
        this.move(e, 'retrying');
        return;
      }
      case 'job_failed': {
        const e = this.entry(ev.job);
        if (!e) return;
        this.leaveRunning(e);
        e.undecided = null;
        e.lastFailure = ev.failure;
        this.move(e, 'failed');
        return;
      }
    }
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * Hand out the best ready job that its category throttle admits and `canPlace` accepts,
   * as an offer in flight with a fresh attempt key (next attempt number, new epoch).
   * `canPlace` returns false to skip a job (kept ready) and 'stop' when nothing more can be
   * placed now, which ends the scan at once (no capacity anywhere: don't walk the queue).
   */
  take(canPlace: (job: PlannedJob) => boolean | 'stop' = () => true): Dispatch | undefined {
    const skipped: number[] = [];
    let found: Entry | undefined;
    for (let i = this.queue.pop(); i !== undefined; i = this.queue.pop()) {
      const e = this.entries[i]!;
      if (e.state !== 'ready') continue;
      const cat = e.job.category;
      if (cat !== undefined && this.categoryFull(cat)) {
        const list = this.throttled.get(cat) ?? [];
        list.push(i);
        this.throttled.set(cat, list);
        continue;
      }
      const placeable = canPlace(e.job);
      if (placeable !== true) {
        skipped.push(i);
        if (placeable === 'stop') break;
        continue;
      }
      found = e;
      break;
    }
    for (const i of skipped) this.queue.push(i);
    if (!found) return undefined;
    return this.offerEntry(found);
  }

  /**
   * Ready jobs in dispatch order (priority desc, then plan order), for a placement that
   * matches them as a batch and then takes the matched ones with `takeJob`.
   */
  readyJobs(): PlannedJob[] {
    // The list of the last call, less what left `ready` since, merged with what became
    // ready since (sorted): O(ready) per call, not O(jobs log jobs) — a placement asks
    // after every result. Until the first call nothing is tracked (the embedded engine
    // never asks: it takes from the heap).
    if (!this.readyTracked) {
      this.readyTracked = true;
      this.readyList = this.entries.filter((e) => e.state === 'ready').sort(byDispatchOrder);
      for (const e of this.readyList) e.listed = true;
      return this.readyList.map((e) => e.job);
    }
    const kept = this.readyList.filter((e) => {
      if (e.state === 'ready') return true;
      e.listed = false;
      return false;
    });
    const added = this.readyNew.filter((e) => {
      if (e.state !== 'ready' || e.listed) return false;
      e.listed = true; // once, however often it was made ready meanwhile
      return true;
    });
    this.readyNew = [];
    let list = kept;
    if (added.length > 0) {
      added.sort(byDispatchOrder);
      list = [];
      let i = 0;
      let j = 0;
      while (i < kept.length || j < added.length) {
        const take =
          j >= added.length || (i < kept.length && byDispatchOrder(kept[i]!, added[j]!) <= 0)
            ? kept[i++]!
            : added[j++]!;
        list.push(take);
      }
    }
    this.readyList = list;
    return list.map((e) => e.job);
  }

  /** Jobs of each category offered or running now (for the broker's throttles). */
  categoryUse(): Record<string, number> {
    return Object.fromEntries(this.categoryRunning);
  }

  /** Category throttle limits. */
  categoryLimits(): Readonly<Record<string, number>> {
    return this.limits;
  }

  /**
   * Hand out one named ready job (chosen by a placement) as an offer in flight, like
   * `take`; undefined when the job is not ready or its category is full.
   */
  takeJob(job: string): Dispatch | undefined {
    const e = this.entry(job);
    if (!e || e.state !== 'ready') return undefined;
    const cat = e.job.category;
    if (cat !== undefined && this.categoryFull(cat)) return undefined;
    return this.offerEntry(e);
  }

  /** The job's attempt in flight: its key, whether only offered, and the journaled agent. */
  currentOf(job: string): { key: AttemptKey; offered: boolean; agent?: string } | undefined {
    const e = this.entry(job);
    if (!e || !e.current) return undefined;
    return {
      key: e.current,
      offered: e.offered,
      ...(e.where ? { agent: e.where.agent } : {}),
    };
  }

  private offerEntry(found: Entry): Dispatch {
    const epoch = this.nextEpoch ? this.nextEpoch() : this.maxEpoch + 1;
    if (epoch <= this.maxEpoch) {
      throw new AloftError(
        'INTERNAL',
        `epoch ${epoch} is not above the highest journaled epoch ${this.maxEpoch}`,
      );
    }
    this.maxEpoch = epoch;
    const key: AttemptKey = { job: found.job.id, attempt: found.attempt + 1, epoch };
    found.current = key;
    found.offered = true;
    this.move(found, 'running');
    this.holdCategory(found);
    return { job: found.job, key };
  }

  /** An offer was rejected or never answered: the job is ready again, same attempt number. */
  release(key: AttemptKey): boolean {
    const e = this.entry(key.job);
    if (!e || !e.offered || !e.current || !sameKey(e.current, key)) return false;
    e.current = null;
    e.offered = false;
    this.releaseCategory(e);
    this.makeReady(e);
    return true;
  }

  /** The agent accepted an offer: the attempt_started event to journal (undefined if stale). */
  accepted(
    key: AttemptKey,
    where: { agent: string; site: string; host: string },
  ): NewEvent | undefined {
    const e = this.entry(key.job);
    if (!e || !e.offered || !e.current || !sameKey(e.current, key)) return undefined;
    return {
      type: 'attempt_started',
      job: key.job,
      kind: e.job.kind,
      attempt: key.attempt,
      epoch: key.epoch,
      agent: where.agent,
      site: where.site,
      host: where.host,
    };
  }

  /** A retrying job's delay is over: ready again. */
  wake(job: string): boolean {
    const e = this.entry(job);
    if (!e || e.state !== 'retrying') return false;
    this.makeReady(e);
    return true;
  }

  // ---------------------------------------------------------------- results

  decideResult(key: AttemptKey, outcome: AttemptOutcome): ResultVerdict {
    const e = this.entry(key.job);
    if (!e) return { kind: 'stale', why: `no job '${key.job}' in the plan` };
    if (this.finishedKeys.has(keyString(key))) return { kind: 'duplicate' };
    if (!e.current || !sameKey(e.current, key)) {
      const cur = e.current
        ? `attempt ${e.current.attempt} epoch ${e.current.epoch}`
        : 'no attempt in flight';
      return { kind: 'stale', why: `job '${key.job}' has ${cur}` };
    }
    if (e.offered) return { kind: 'early' };
    const finished: NewEvent = {
      type: 'attempt_finished',
      job: key.job,
      attempt: key.attempt,
      epoch: key.epoch,
      ok: outcome.ok,
      record: outcome.record,
      ...(outcome.ok ? {} : { failure: outcome.failure }),
    };
    return {
      kind: 'accept',
      events: [finished, this.decide(e, key.attempt, outcome.ok ? undefined : outcome.failure)],
    };
  }

  /**
   * After replaying a journal, before running again: the events that close what the last
   * process left open. Attempts started and never finished are closed as cancelled (the
   * process died; no retry spent) and retried; a finished attempt with no decision gets its
   * decision; failed jobs get a fresh set of retries (a rescue-DAG rerun). Retrying jobs
   * need no event: the driver wakes them at once.
   *
   * `keep` (a scheduler that re-adopts attempts from agents) names running attempts to leave
   * open: they stay running under their journaled key and agent, for the driver to confirm
   * or declare lost.
   */
  resume(now: string, keep: (r: RunningAttempt) => boolean = () => false): NewEvent[] {
    const out: NewEvent[] = [];
    for (const e of this.entries) {
      if (
        e.state === 'running' &&
        e.current &&
        !e.offered &&
        e.where &&
        keep({ key: e.current, ...e.where, kind: e.job.kind })
      ) {
        continue;
      }
      if (e.state === 'running' && e.current && !e.offered) {
        const where = e.where ?? { agent: 'unknown', site: e.job.site, host: 'unknown' };
        const failure: Failure = {
          kind: 'cancelled',
          message:
            'the run stopped before this attempt reported back (the process ended); it is retried and does not count as a try',
        };
        out.push({
          type: 'attempt_finished',
          job: e.job.id,
          attempt: e.current.attempt,
          epoch: e.current.epoch,
          ok: false,
          record: emptyRecord(e.job.id, e.current.attempt, where, now),
          failure,
        });
        out.push({
          type: 'job_retry',
          job: e.job.id,
          nextAttempt: e.current.attempt + 1,
          delayMs: 0,
          failure,
          resume: true,
        });
      } else if (e.state === 'running' && !e.current && e.undecided) {
        out.push(this.decide(e, e.undecided.attempt, e.undecided.failure, true));
      } else if (e.state === 'failed') {
        out.push({
          type: 'job_retry',
          job: e.job.id,
          nextAttempt: e.attempt + 1,
          delayMs: 0,
          failure: e.lastFailure ?? { kind: 'application', message: 'failed in an earlier run' },
          resume: true,
        });
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- internals

  private decide(
    e: Entry,
    attempt: number,
    failure: Failure | undefined,
    resume = false,
  ): NewEvent {
    if (!failure) return { type: 'job_succeeded', job: e.job.id, attempt };
    const retry = (delayMs: number): NewEvent => ({
      type: 'job_retry',
      job: e.job.id,
      nextAttempt: attempt + 1,
      delayMs: resume ? 0 : delayMs,
      failure,
    });
    if (failure.kind === 'cancelled') return retry(0);
    if (failure.kind === 'infrastructure' && e.infra < this.infraCap) {
      return retry(this.retryDelay(e.infra + 1, failure.kind));
    }
    if (e.spent < e.job.retries) return retry(this.retryDelay(e.spent + 1, failure.kind));
    return { type: 'job_failed', job: e.job.id, attempts: attempt, failure };
  }

  private countFailure(e: Entry, kind: FailureKind): void {
    if (kind === 'cancelled') return;
    if (kind === 'infrastructure' && e.infra < this.infraCap) {
      e.infra++;
      return;
    }
    if (SPENDS.has(kind) || kind === 'infrastructure') e.spent++;
  }

  private entry(job: string): Entry | undefined {
    return this.byId.get(job);
  }

  private move(e: Entry, to: JobState): void {
    this.counts_[e.state]--;
    this.counts_[to]++;
    e.state = to;
  }

  /** Queue entries are dropped lazily: `take` skips indices whose job is no longer ready. */
  private makeReady(e: Entry): void {
    if (e.state !== 'ready') this.move(e, 'ready');
    this.queue.push(e.index);
    if (this.readyTracked && !e.listed) this.readyNew.push(e);
  }

  private leaveRunning(e: Entry): void {
    e.current = null;
    e.offered = false;
    e.where = null;
    this.releaseCategory(e);
  }

  private categoryFull(cat: string): boolean {
    const limit = this.limits[cat];
    return limit !== undefined && (this.categoryRunning.get(cat) ?? 0) >= limit;
  }

  private holdCategory(e: Entry): void {
    const cat = e.job.category;
    if (cat === undefined || e.holdsCategory) return;
    e.holdsCategory = true;
    this.categoryRunning.set(cat, (this.categoryRunning.get(cat) ?? 0) + 1);
  }

  private releaseCategory(e: Entry): void {
    const cat = e.job.category;
    if (cat === undefined || !e.holdsCategory) return;
    e.holdsCategory = false;
    this.categoryRunning.set(cat, (this.categoryRunning.get(cat) ?? 1) - 1);
    const held = this.throttled.get(cat);
    if (held && held.length > 0) {
      this.throttled.delete(cat);
      for (const i of held) this.queue.push(i);
    }
  }
}

/** The record of an attempt nobody heard back from: what the journal knows, nothing more. */
function emptyRecord(
  job: string,
  attempt: number,
  where: { agent: string; site: string; host: string },
  now: string,
): InvocationRecord {
  return emptyInvocationRecord({
    job,
    attempt,
    agent: where.agent,
    site: where.site,
    host: where.host,
    user: '',
    executor: 'unknown',
    argv: [],
    cwd: '',
    start: now,
  });
}
