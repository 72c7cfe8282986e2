/**
 * The engine driver: runs a plan by feeding the pure state machine (engine-state.ts) with
 * what happens — agent ads, offer replies, attempt results, retry timers, Ctrl-C — and
 * carrying out its decisions through the transport, the journal and timers. It owns the
 * agents' slot accounting, attempt fencing on the wire, result acknowledgement and
 * deduplication, in-engine `register` jobs, and stopping.
 *
 * Ordering contract ("journal before telling anyone", DESIGN §6):
 * - an offer is sent only once every event appended before it is durable;
 * - `attempt_started` is appended when the agent accepts, before anything acts on it;
 * - `attempt_finished` and the decision (`job_succeeded` / `job_retry` / `job_failed`) are
 *   durable before the result is acknowledged, so an agent retransmits until then;
 * - results for anything but the job's current attempt are acked and ignored (stale), and a
 *   result for an attempt already finished is acked and ignored (duplicate).
 *
 * The state is updated as events are appended (in append order, which is file order); the
 * durability waits above gate only what leaves the process.
 */
import os from 'node:os';
import { AloftError, toAloftError } from '../../lib/errors/index.js';
import { silentLogger, type Logger } from '../../lib/logging/index.js';
import { backoffDelay } from '../../lib/retry/index.js';
import type { Subscription, Transport } from '../../lib/transport/transport.js';
import type {
  AgentAd,
  AttemptResultMsg,
  AttemptStartedMsg,
  KillMsg,
  Offer,
  OfferReply,
  ResultAck,
  TransferProgress,
} from '../../proto/agent-protocol.js';
import {
  emptyInvocationRecord,
  type AttemptKey,
  type AttemptOutcome,
  type InvocationRecord,
} from '../../proto/attempt.js';
import type { Plan, PlannedJob } from '../../proto/plan.js';
import { subjects } from '../../proto/subjects.js';
import type { Journal, JournalEvent, NewEvent, RunEndState } from '../journal/index.js';
import type { OutputReplica, OutputReplicaCatalog } from '../run/index.js';
import { EngineState, type Counts, type Dispatch, type RunningAttempt } from './engine-state.js';

/**
 * Where jobs go (the seam a scheduler plugs its registry and broker into). Without one, the
 * engine places jobs itself: first fit over the agents' ads it hears, least busy first.
 * A placement owns agents' capacity accounting: `assign` reserves what it assigns, and the
 * engine releases each reservation exactly once (offer rejected or failed, result accepted,
 * attempt declared lost).
 */
export interface Placement {
  /** Assign ready jobs (dispatch order) to agents, reserving capacity; others stay ready. */
  assign(
    jobs: readonly PlannedJob[],
    throttles: { limits: Readonly<Record<string, number>>; running: Record<string, number> },
  ): { job: PlannedJob; agent: string }[];
  /** Reserve capacity for an attempt the engine re-adopted after a restart. */
  reserve(agent: string, job: PlannedJob): void;
  release(agent: string, job: PlannedJob): void;
  /** Keep the agent out of assignments for `ms` (it rejected or did not answer an offer). */
  cool(agent: string, ms: number): void;
  /** The agent's host name, when known (journaled in attempt_started). */
  host(agent: string): string | undefined;
}

export interface EngineOptions {
  plan: Plan;
  journal: Journal;
  transport: Transport;
  runId: string;
  /** sha256 of the stored plan (journaled in run_started). */
  planDigest: string;
  /** Where `register` jobs record outputs; without it, register jobs fail. */
  outputReplicas?: OutputReplicaCatalog;
  logger?: Logger;
  /** Most jobs of a category running at once (Pegasus dagman category throttles). */
  categoryLimits?: Record<string, number>;
  /** Base delay of the first retry (doubling, jittered, capped at maxRetryDelayMs). Default 1000. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Infrastructure failures of one job that spend no retry (default 5). */
  maxInfrastructureFailures?: number;
  /** How long an agent has to answer an offer (default 15 s). */
  offerTimeoutMs?: number;
  /** After Ctrl-C, how long to wait for killed attempts to report (default 10 s). */
  killGraceMs?: number;
  /** Host name journaled for in-engine (register) attempts. */
  hostname?: string;
  /** Random source for backoff jitter (tests). */
  random?: () => number;
  /** Placement of jobs on agents; default: first fit over the ads heard (embedded mode). */
  placement?: Placement;
  /**
   * Subscribe to ads, attempt-started and results on the transport (default true). A
   * scheduler running several engines routes messages itself (deliverResult) instead.
   */
  listen?: boolean;
  /** Epoch source shared by several engines (see EngineStateOptions.nextEpoch). */
  nextEpoch?: () => number;
  /**
   * On resume, keep attempts journaled as running on an agent open for this long, to be
   * re-adopted (confirm() or their result) instead of closed as cancelled and rerun; those
   * not confirmed by then are declared lost. Default: close them at once.
   */
  adoptGraceMs?: number;
}

/** A running transfer job's latest progress (files and bytes done of its total). */
export interface JobTransfer extends TransferProgress {
  job: string;
  attempt: number;
}

export interface Engine {
  /**
   * Run the plan to the end: 'succeeded', 'failed' (nothing more can run and some job
   * failed), or 'interrupted' (the signal aborted). Subscribes to the transport
   * synchronously when called, so agents started after the call are heard.
   * Rejects only on an internal fault (e.g. the journal cannot be written).
   */
  run(signal?: AbortSignal): Promise<RunEndState>;
  counts(): Counts;
  /** job_retry events in the journal (this process and earlier ones). */
  retries(): number;
  /** Start nothing new; running attempts finish (resumeDispatch undoes it). */
  halt(): void;
  resumeDispatch(): void;
  isHalted(): boolean;
  /** Kill running attempts and end the run as 'interrupted' (like the run's abort signal). */
  cancel(): void;
  /**
   * Let go without journaling an end: timers stop, nothing more is sent, run() resolves
   * 'interrupted'. The journal is as after a crash; attempts keep running on their agents
   * to be re-adopted by the next engine on this run directory.
   */
  detach(): void;
  /** Handle a result routed here (listen: false). Returns the verdict kind, or 'ignored'. */
  deliverResult(msg: AttemptResultMsg): 'accept' | 'duplicate' | 'stale' | 'early' | 'ignored';
  /**
   * An AttemptStartedMsg routed here (listen: false). One carrying `progress` for the job's
   * running attempt is journaled as attempt_progress, at most every PROGRESS_MIN_MS per job
   * (more frequent reports are dropped: the agent already throttles). Returns whether it
   * was journaled.
   */
  deliverStarted(msg: AttemptStartedMsg): boolean;
  /** Whether `key` is the job's attempt in flight on `agent` (offered to it or running there). */
  isCurrent(key: AttemptKey, agent: string): boolean;
  /** The planned job with this id (the object placement sees). */
  job(id: string): PlannedJob | undefined;
  /** Running transfer jobs with the progress their agents last reported. */
  transfers(): JobTransfer[];
  /** An agent reports `key` running: a re-adopted attempt is confirmed. */
  confirm(key: AttemptKey): void;
  /** Attempts journaled as running on the agent. */
  runningOn(agent: string): RunningAttempt[];
  /**
   * The attempt is lost (its agent missed its lease): journal it finished with an
   * infrastructure failure and decide (retry without spending a retry, up to
   * maxInfrastructureFailures). False when it is no longer current.
   */
  loseAttempt(key: AttemptKey, message: string): boolean;
  /** Ready jobs in dispatch order. */
  readyJobs(): PlannedJob[];
  /** Try to dispatch now (capacity appeared). */
  poke(): void;
}

/** The executor name journaled for attempts the engine performs itself. */
export const ENGINE_AGENT = 'engine';

interface AgentSlot {
  ad: AgentAd;
  inFlight: number;
  coolUntil: number;
}

const keyString = (k: AttemptKey): string => `${k.job}\u0000${k.attempt}\u0000${k.epoch}`;

/** Least time between two attempt_progress events of one job in the journal. */
export const PROGRESS_MIN_MS = 1000;
/** Jobs whose latest progress is remembered (the least recently reported are forgotten). */
const PROGRESS_KEPT = 4096;

interface Assigned {
  agent: string;
  job: PlannedJob;
}

export function createEngine(options: EngineOptions): Engine {
  return new EngineDriver(options);
}

class EngineDriver implements Engine {
  private readonly o: EngineOptions;
  private readonly log: Logger;
  private readonly state: EngineState;
  private readonly jobs = new Map<string, PlannedJob>();
  private readonly agents = new Map<string, AgentSlot>();
  /** Agent of each attempt in flight (offered or running), by key. */
  private readonly assigned = new Map<string, Assigned>();
  /** Re-adopted attempts not yet confirmed by their agent, by key. */
  private readonly unconfirmed = new Set<string>();
  private paused = false;
  private detached = false;
  /** Results that arrived before their acceptance was journaled. */
  private readonly early = new Map<string, AttemptResultMsg>();
  /** Sizes and checksums of produced files, from successful attempts' records. */
  private readonly produced = new Map<string, { size?: number; sha256?: string }>();
  /**
   * Per job, its attempt's latest progress (for transfers(); pruned when read after the
   * attempt ended) and when progress was last journaled (for the PROGRESS_MIN_MS limit).
   */
  private readonly progress = new Map<
    string,
    { key: AttemptKey; progress: TransferProgress; journaledAt: number }
  >();
  private readonly timers = new Set<NodeJS.Timeout>();
  private subs: Subscription[] = [];
  private halted = false;
  private ended = false;
  private pumping = false;
  private pumpAgain = false;
  private pumpScheduled = false;
  private resolveEnd: (s: RunEndState) => void = () => undefined;
  private rejectEnd: (e: unknown) => void = () => undefined;
  private stopWaiter: (() => void) | null = null;

  constructor(options: EngineOptions) {
    this.o = options;
    this.log = (options.logger ?? silentLogger).child({ component: 'engine' });
    const base = options.retryDelayMs ?? 1000;
    const max = options.maxRetryDelayMs ?? 60_000;
    this.state = new EngineState(options.plan.jobs, {
      ...(options.categoryLimits ? { categoryLimits: options.categoryLimits } : {}),
      ...(options.maxInfrastructureFailures !== undefined
        ? { maxInfrastructureFailures: options.maxInfrastructureFailures }
        : {}),
      ...(options.nextEpoch ? { nextEpoch: options.nextEpoch } : {}),
      retryDelay: (n) =>
        backoffDelay(n, {
          initialMs: base,
          maxMs: max,
          ...(options.random ? { random: options.random } : {}),
        }),
    });
    for (const j of options.plan.jobs) this.jobs.set(j.id, j);
    for (const e of options.journal.replayed) {
      this.state.apply(e);
      this.noteProduced(e);
    }
  }

  counts(): Counts {
    return this.state.counts();
  }

  retries(): number {
    return this.state.retries();
  }

  isHalted(): boolean {
    return this.paused;
  }

  halt(): void {
    this.paused = true;
  }

  resumeDispatch(): void {
    if (!this.paused) return;
    this.paused = false;
    this.guard(() => {
      this.pump();
      this.checkEnd();
    });
  }

  cancel(): void {
    this.guard(() => this.stop());
  }

  detach(): void {
    if (this.ended) return;
    this.ended = true;
    this.detached = true;
    this.resolveEnd('interrupted');
  }

  deliverResult(msg: AttemptResultMsg): 'accept' | 'duplicate' | 'stale' | 'early' | 'ignored' {
    let kind: 'accept' | 'duplicate' | 'stale' | 'early' | 'ignored' = 'ignored';
    this.guard(() => {
      kind = this.onResult(msg);
    });
    return kind;
  }

  deliverStarted(msg: AttemptStartedMsg): boolean {
    let journaled = false;
    this.guard(() => {
      journaled = this.onStarted(msg);
    });
    return journaled;
  }

  job(id: string): PlannedJob | undefined {
    return this.jobs.get(id);
  }

  transfers(): JobTransfer[] {
    const out: JobTransfer[] = [];
    if (this.progress.size === 0) return out;
    const running = new Set(this.state.running().map((r) => keyString(r.key)));
    for (const [job, { key, progress }] of this.progress) {
      const still = running.has(keyString(key));
      if (!still) {
        this.progress.delete(job); // that attempt ended: its progress is history
        continue;
      }
      out.push({ job, attempt: key.attempt, ...progress });
    }
    return out;
  }

  isCurrent(key: AttemptKey, agent: string): boolean {
    const cur = this.state.currentOf(key.job);
    if (!cur || cur.key.attempt !== key.attempt || cur.key.epoch !== key.epoch) return false;
    if (cur.offered) return this.assigned.get(keyString(key))?.agent === agent;
    return cur.agent === agent;
  }

  confirm(key: AttemptKey): void {
    this.unconfirmed.delete(keyString(key));
  }

  runningOn(agent: string): RunningAttempt[] {
    return this.state.running().filter((r) => r.agent === agent);
  }

  loseAttempt(key: AttemptKey, message: string): boolean {
    let lost = false;
    this.guard(() => {
      lost = this.lose(key, message);
    });
    return lost;
  }

  readyJobs(): PlannedJob[] {
    return this.state.readyJobs();
  }

  poke(): void {
    this.guard(() => {
      this.pump();
      this.checkEnd();
    });
  }

  run(signal?: AbortSignal): Promise<RunEndState> {
    const t = this.o.transport;
    this.subs =
      this.o.listen === false
        ? []
        : [
            t.subscribe<AgentAd>(subjects.allAds, (m) => this.guard(() => this.onAd(m.data))),
            t.subscribe<AttemptStartedMsg>(subjects.allStarted, (m) =>
              this.guard(() => this.onStarted(m.data)),
            ),
            t.subscribe<AttemptResultMsg>(subjects.allResults, (m) =>
              this.guard(() => this.onResult(m.data)),
            ),
          ];
    const done = new Promise<RunEndState>((resolve, reject) => {
      this.resolveEnd = resolve;
      this.rejectEnd = reject;
    });
    const onAbort = (): void => this.guard(() => this.stop());
    signal?.addEventListener('abort', onAbort, { once: true });
    this.guard(() => this.begin(signal?.aborted ?? false));
    return done.finally(() => {
      signal?.removeEventListener('abort', onAbort);
      for (const s of this.subs) s.unsubscribe();
      this.subs = [];
      for (const tm of this.timers) clearTimeout(tm);
      this.timers.clear();
    });
  }

  // ------------------------------------------------------------------ lifecycle

  private begin(aborted: boolean): void {
    const resumed = this.o.journal.replayed.length > 0;
    this.append({
      type: 'run_started',
      runId: this.o.runId,
      workflow: this.o.plan.workflow.name,
      planDigest: this.o.planDigest,
      jobs: this.o.plan.jobs.length,
      resumed,
    });
    if (resumed) {
      const grace = this.o.adoptGraceMs;
      const events = this.state.resume(
        new Date().toISOString(),
        (r) => grace !== undefined && r.agent !== ENGINE_AGENT,
      );
      for (const e of events) this.append(e);
      if (grace !== undefined) this.adopt(grace);
      if (events.length > 0) {
        this.log.info({ events: events.length }, 'resumed: closed what the last process left open');
      }
      for (const job of this.state.retrying()) this.state.wake(job);
    }
    if (aborted) {
      this.stop();
      return;
    }
    this.pump();
    this.checkEnd();
  }

  /**
   * Attempts left open by resume: count them on their agents and give each agent `grace`
   * ms to report them (heartbeat -> confirm, or the result) before declaring them lost.
   */
  private adopt(grace: number): void {
    const open = this.state.running();
    for (const r of open) {
      const job = this.jobs.get(r.key.job);
      if (!job) continue;
      const k = keyString(r.key);
      this.assigned.set(k, { agent: r.agent, job });
      this.o.placement?.reserve(r.agent, job);
      this.unconfirmed.add(k);
    }
    if (open.length === 0) return;
    this.log.info({ attempts: open.length, graceMs: grace }, 're-adopting running attempts');
    this.later(grace, () => {
      for (const r of open) {
        const k = keyString(r.key);
        if (!this.unconfirmed.delete(k)) continue;
        this.lose(
          r.key,
          `no agent reported attempt ${r.key.attempt} of job ${r.key.job} within ${grace} ms after the scheduler restarted (agent ${r.agent} lost)`,
        );
      }
    });
  }

  private lose(key: AttemptKey, message: string): boolean {
    if (this.ended) return false;
    const where = this.state
      .running()
      .find(
        (r) => r.key.job === key.job && r.key.attempt === key.attempt && r.key.epoch === key.epoch,
      );
    if (!where) return false;
    const record = emptyInvocationRecord({
      job: key.job,
      attempt: key.attempt,
      agent: where.agent,
      site: where.site,
      host: where.host,
      user: '',
      executor: 'unknown',
      argv: [],
      cwd: '',
      start: new Date().toISOString(),
    });
    const verdict = this.state.decideResult(key, {
      ok: false,
      record,
      failure: { kind: 'infrastructure', message },
    });
    if (verdict.kind !== 'accept') return false;
    const k = keyString(key);
    this.unconfirmed.delete(k);
    this.early.delete(k);
    this.unassign(k);
    this.log.warn({ job: key.job, attempt: key.attempt, agent: where.agent }, message);
    this.accept(verdict.events);
    return true;
  }

  /** Ctrl-C: dispatch nothing more, kill what runs, wait (bounded) for it to report. */
  private stop(): void {
    if (this.halted || this.ended) return;
    this.halted = true;
    const running = this.state.running();
    this.log.info({ running: running.length }, 'stopping: killing running attempts');
    for (const r of running) {
      if (r.agent === ENGINE_AGENT) continue;
      this.kill(r.agent, r.key, 'run interrupted');
    }
    const grace = this.o.killGraceMs ?? 10_000;
    const finish = (): void => {
      this.stopWaiter = null;
      clearTimeout(timer);
      this.timers.delete(timer);
      void this.finish('interrupted');
    };
    const timer = setTimeout(() => {
      const left = this.state.running().length;
      if (left > 0) this.log.warn({ attempts: left }, 'killed attempts did not report in time');
      finish();
    }, grace);
    this.timers.add(timer);
    this.stopWaiter = finish;
    this.checkStopped();
  }

  private checkStopped(): void {
    if (this.halted && this.stopWaiter && this.state.counts().running === 0) this.stopWaiter();
  }

  private checkEnd(): void {
    if (this.halted) {
      this.checkStopped();
      return;
    }
    if (!this.ended && this.state.settled()) void this.finish(this.state.outcome());
  }

  private async finish(state: RunEndState): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await this.o.journal.append({ type: 'run_finished', state });
      this.resolveEnd(state);
    } catch (e) {
      this.rejectEnd(e);
    }
  }

  /** Run a handler; any throw is an internal fault that ends the run. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.log.error({ err: toAloftError(e).toJSON() }, 'engine stopped by an internal fault');
    this.rejectEnd(e);
  }

  /** Append and fold into the state at once (file order = fold order). */
  private append(e: NewEvent): Promise<JournalEvent> {
    const stored = this.o.journal.append(e);
    this.state.apply(e);
    this.noteProduced(e);
    stored.catch((err: unknown) => this.fail(err));
    return stored;
  }

  // ------------------------------------------------------------------ dispatch

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        if (this.paused) return;
        if (this.o.placement) {
          this.pumpPlaced(this.o.placement);
          continue;
        }
        for (;;) {
          if (this.halted || this.ended) return;
          const now = Date.now();
          const anyFree = [...this.agents.values()].some(
            (a) => a.inFlight < a.ad.slots && a.coolUntil <= now,
          );
          const d = this.state.take((job) => {
            if (job.kind === 'register') return true;
            // No agent has a free slot: stop scanning (register jobs further down the
            // queue wait for the next free slot; they are cheap and never starve).
            if (!anyFree) return 'stop';
            return this.pick(job, now) !== undefined;
          });
          if (!d) break;
          if (d.job.kind === 'register') this.runRegister(d);
          else {
            const a = this.pick(d.job, now)!;
            a.inFlight++;
            this.offer(d, a.ad.agent);
          }
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** One batch: register jobs run here; the placement matches the rest to agents. */
  private pumpPlaced(placement: Placement): void {
    if (this.halted || this.ended) return;
    const ready = this.state.readyJobs();
    const others: PlannedJob[] = [];
    for (const job of ready) {
      if (job.kind !== 'register') {
        others.push(job);
        continue;
      }
      const d = this.state.takeJob(job.id);
      if (d) this.runRegister(d);
    }
    if (others.length === 0) return;
    const assignments = placement.assign(others, {
      limits: this.state.categoryLimits(),
      running: this.state.categoryUse(),
    });
    for (const a of assignments) {
      const d = this.state.takeJob(a.job.id);
      if (!d) {
        placement.release(a.agent, a.job);
        continue;
      }
      this.offer(d, a.agent);
    }
  }

  /** The least busy agent serving the job's site with a free slot. */
  private pick(job: PlannedJob, now: number): AgentSlot | undefined {
    let best: AgentSlot | undefined;
    for (const a of this.agents.values()) {
      if (a.inFlight >= a.ad.slots || a.coolUntil > now) continue;
      if (a.ad.site !== job.site && !a.ad.sites.includes(job.site)) continue;
      if (!best || a.inFlight < best.inFlight) best = a;
    }
    return best;
  }

  /**
   * Offer a taken job to an agent whose capacity is already counted for it.
   *
   * The offer does not wait for the journal to be durable (an fsync on every job's critical
   * path). What a crash can then leave: an agent running an attempt the journal never
   * heard of — its acceptance (attempt_started) or the parents' completions it depends on
   * were not yet on disk. After a restart that attempt has no journaled epoch: the agent's
   * heartbeat names it and it is killed as an orphan, and a result it sends is acked and
   * dropped; the parents' results come again from their agents (acks are sent only once
   * the result is durable) and the job runs again from there. No journaled completion is
   * lost or repeated, and the journal's order (parents' job_succeeded before the child's
   * attempt_started) is the order of appends.
   */
  private offer(d: Dispatch, id: string): void {
    this.assigned.set(keyString(d.key), { agent: id, job: d.job });
    const offer: Offer = { key: d.key, runId: this.o.runId, job: d.job };
    void (async () => {
      let reply: OfferReply;
      try {
        if (this.halted || this.ended) throw new AloftError('CANCELLED', 'run stopping');
        reply = await this.o.transport.request<OfferReply>(subjects.offer(id), offer, {
          timeoutMs: this.o.offerTimeoutMs ?? 15_000,
        });
      } catch (e) {
        this.guard(() => this.offerFailed(d.key, id, toAloftError(e)));
        return;
      }
      this.guard(() => this.onReply(d, id, reply));
    })();
  }

  private onReply(d: Dispatch, agentId: string, reply: OfferReply): void {
    const k = keyString(d.key);
    if (this.ended) {
      // The run is over and journaled as such: nothing may start now.
      if (reply.accepted && !this.detached) this.kill(agentId, d.key, 'run finished');
      return;
    }
    if (!reply.accepted) {
      this.log.info({ job: d.key.job, agent: agentId, reason: reply.reason }, 'offer rejected');
      this.unassign(k);
      this.cool(agentId, 250);
      this.state.release(d.key);
      this.checkEnd();
      return;
    }
    const host = this.o.placement
      ? this.o.placement.host(agentId)
      : this.agents.get(agentId)?.ad.host;
    const ev = this.state.accepted(d.key, {
      agent: agentId,
      site: d.job.site,
      host: host ?? 'unknown',
    });
    if (!ev) {
      // No longer ours to run (cannot happen while offers are fenced by epoch; be safe).
      this.kill(agentId, d.key, 'offer no longer current');
      this.unassign(k);
      return;
    }
    this.append(ev);
    if (this.halted) this.kill(agentId, d.key, 'run interrupted');
    const held = this.early.get(k);
    if (held) {
      this.early.delete(k);
      this.onResult(held);
    }
  }

  private offerFailed(key: AttemptKey, agentId: string, e: AloftError): void {
    const k = keyString(key);
    if (this.ended) return;
    this.unassign(k);
    if (e.code !== 'CANCELLED') {
      this.log.warn({ job: key.job, agent: agentId, code: e.code, err: e.message }, 'offer failed');
      // The agent may have accepted without us hearing it: fence that attempt off.
      this.kill(agentId, key, 'offer timed out');
      this.cool(agentId, 1000);
    }
    this.early.delete(k);
    this.state.release(key);
    this.checkEnd();
  }

  private unassign(k: string): void {
    const as = this.assigned.get(k);
    if (as === undefined) return;
    this.assigned.delete(k);
    if (this.o.placement) {
      this.o.placement.release(as.agent, as.job);
      return;
    }
    const a = this.agents.get(as.agent);
    if (a) a.inFlight = Math.max(0, a.inFlight - 1);
  }

  private cool(agentId: string, ms: number): void {
    if (this.o.placement) {
      this.o.placement.cool(agentId, ms);
      this.later(ms, () => this.pump());
      return;
    }
    const a = this.agents.get(agentId);
    if (!a) return;
    a.coolUntil = Date.now() + ms;
    this.later(ms, () => this.pump());
  }

  private later(ms: number, fn: () => void): void {
    const tm = setTimeout(() => {
      this.timers.delete(tm);
      this.guard(fn);
    }, ms);
    this.timers.add(tm);
  }

  private kill(agentId: string, key: AttemptKey, reason: string): void {
    const msg: KillMsg = { key, reason };
    try {
      this.o.transport.publish(subjects.kill(agentId), msg);
    } catch (e) {
      this.log.warn(
        { agent: agentId, job: key.job, err: toAloftError(e).message },
        'kill not sent',
      );
    }
  }

  // ------------------------------------------------------------------ messages

  private onAd(ad: AgentAd): void {
    if (!ad || typeof ad.agent !== 'string' || typeof ad.slots !== 'number') return;
    const prev = this.agents.get(ad.agent);
    this.agents.set(ad.agent, {
      ad: { ...ad, sites: Array.isArray(ad.sites) ? ad.sites : [] },
      inFlight: prev?.inFlight ?? 0,
      coolUntil: prev?.coolUntil ?? 0,
    });
    this.log.debug({ agent: ad.agent, slots: ad.slots, site: ad.site }, 'agent ad');
    this.pump();
  }

  private onStarted(msg: AttemptStartedMsg): boolean {
    const key = msg?.key;
    if (typeof key?.job !== 'string') return false;
    const p = msg.progress;
    if (!p) {
      this.log.debug({ job: key.job, attempt: key.attempt, agent: msg.agent }, 'attempt running');
      return false;
    }
    // Only the running attempt's own agent speaks for it; progress of an offered (not yet
    // journaled) attempt waits for the next report.
    if (this.ended) return false;
    const cur = this.state.currentOf(key.job);
    if (
      !cur ||
      cur.offered ||
      cur.agent !== msg.agent ||
      cur.key.attempt !== key.attempt ||
      cur.key.epoch !== key.epoch
    ) {
      return false;
    }
    const nums = [p.filesDone, p.filesTotal, p.bytesDone, p.bytesTotal];
    if (!nums.every((n) => Number.isSafeInteger(n) && n >= 0)) return false;
    // The live view (transfers()) gets every report; the journal at most one a second.
    const now = Date.now();
    const journaledAt = this.progress.get(key.job)?.journaledAt ?? -Infinity;
    const journal = now - journaledAt >= PROGRESS_MIN_MS;
    this.progress.delete(key.job); // re-inserted last: the map stays in order of last report
    if (this.progress.size >= PROGRESS_KEPT) {
      this.progress.delete(this.progress.keys().next().value!);
    }
    this.progress.set(key.job, {
      key: { ...key },
      progress: { ...p },
      journaledAt: journal ? now : journaledAt,
    });
    if (!journal) return false;
    void this.append({
      type: 'attempt_progress',
      job: key.job,
      attempt: key.attempt,
      epoch: key.epoch,
      filesDone: p.filesDone,
      filesTotal: p.filesTotal,
      bytesDone: p.bytesDone,
      bytesTotal: p.bytesTotal,
    }).catch(() => undefined);
    return true;
  }

  private onResult(msg: AttemptResultMsg): 'accept' | 'duplicate' | 'stale' | 'early' | 'ignored' {
    // After run_finished nothing more is journaled; unacked, the agent's outbox keeps the
    // result for the next run of this directory to deduplicate.
    if (this.ended) return 'ignored';
    if (!msg?.key || typeof msg.key.job !== 'string' || !msg.outcome) return 'ignored';
    const key = msg.key;
    const verdict = this.state.decideResult(key, msg.outcome);
    switch (verdict.kind) {
      case 'early':
        this.early.set(keyString(key), msg);
        return 'early';
      case 'duplicate':
        this.log.debug(
          { job: key.job, attempt: key.attempt, agent: msg.agent },
          'duplicate result',
        );
        this.ack(msg.agent, key);
        return 'duplicate';
      case 'stale':
        this.log.warn(
          {
            job: key.job,
            attempt: key.attempt,
            epoch: key.epoch,
            agent: msg.agent,
            why: verdict.why,
          },
          'stale result ignored',
        );
        this.ack(msg.agent, key);
        return 'stale';
      case 'accept':
        this.unconfirmed.delete(keyString(key));
        this.unassign(keyString(key));
        this.accept(verdict.events, () => this.ack(msg.agent, key));
        return 'accept';
    }
  }

  /** Journal an accepted result and its decision; `then` runs once they are durable. */
  private accept(events: NewEvent[], then?: () => void): void {
    let last: Promise<JournalEvent> | undefined;
    for (const e of events) {
      last = this.append(e);
      if (e.type === 'job_retry') {
        this.log.info(
          { job: e.job, next: e.nextAttempt, delayMs: e.delayMs, kind: e.failure.kind },
          'job will be retried',
        );
        const job = e.job;
        this.later(e.delayMs, () => {
          this.state.wake(job);
          this.pump();
        });
      } else if (e.type === 'job_failed') {
        this.log.warn({ job: e.job, attempts: e.attempts, kind: e.failure.kind }, 'job failed');
      }
    }
    if (then && last) last.then(then, () => undefined);
    this.pumpSoon();
    this.checkEnd();
  }

  /**
   * Pump once at the end of this event-loop turn: results arrive in batches (one socket
   * read, one batched message), and one placement pass for all of them costs one scan of
   * the ready jobs instead of one per result.
   */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.guard(() => this.pump());
    });
  }

  private ack(agentId: string, key: AttemptKey): void {
    const msg: ResultAck = { key };
    try {
      this.o.transport.publish(subjects.ack(agentId), msg);
    } catch (e) {
      this.log.warn({ agent: agentId, err: toAloftError(e).message }, 'ack not sent');
    }
  }

  // ------------------------------------------------------------------ register jobs

  private noteProduced(e: JournalEvent | NewEvent): void {
    if (e.type !== 'attempt_finished' || !e.ok) return;
    for (const f of e.record.files ?? []) {
      if (f.link !== 'output') continue;
      this.produced.set(f.lfn, { size: f.size, ...(f.sha256 ? { sha256: f.sha256 } : {}) });
    }
    for (const t of e.record.transfers ?? []) {
      const prev = this.produced.get(t.lfn);
      this.produced.set(t.lfn, {
        size: prev?.size ?? t.bytes,
        ...(t.sha256 || prev?.sha256 ? { sha256: t.sha256 ?? prev?.sha256 } : {}),
      });
    }
  }

  /** Register jobs run in the engine: append the job's registrations to the catalog. */
  private runRegister(d: Dispatch): void {
    const host = this.o.hostname ?? os.hostname();
    const ev = this.state.accepted(d.key, { agent: ENGINE_AGENT, site: d.job.site, host });
    if (!ev) return;
    this.append(ev);
    const start = new Date();
    const entries: OutputReplica[] = (d.job.registrations ?? []).map((r) => {
      const p = this.produced.get(r.lfn);
      return {
        lfn: r.lfn,
        pfn: r.pfn,
        site: r.site,
        ...(p?.sha256 ? { sha256: p.sha256 } : {}),
        ...(p?.size !== undefined ? { size: p.size } : {}),
      };
    });
    const record = (ok: boolean): InvocationRecord => ({
      ...emptyInvocationRecord({
        job: d.job.id,
        attempt: d.key.attempt,
        agent: ENGINE_AGENT,
        site: d.job.site,
        host,
        user: os.userInfo().username,
        executor: 'register',
        argv: [],
        cwd: '',
        start: start.toISOString(),
      }),
      durationMs: Date.now() - start.getTime(),
      exitCode: ok ? 0 : null,
      files: entries.map((e) => ({
        lfn: e.lfn,
        link: 'output' as const,
        size: e.size ?? 0,
        ...(e.sha256 ? { sha256: e.sha256 } : {}),
      })),
    });
    const catalog = this.o.outputReplicas;
    const work = catalog
      ? this.o.journal.flush().then(() => catalog.add(entries))
      : Promise.reject(
          new AloftError('FAILED_PRECONDITION', 'no output replica catalog to register into'),
        );
    work.then(
      () => this.guard(() => this.finishLocal(d.key, { ok: true, record: record(true) })),
      (e: unknown) =>
        this.guard(() =>
          this.finishLocal(d.key, {
            ok: false,
            record: record(false),
            failure: {
              kind: 'infrastructure',
              message: `could not write the output replica catalog: ${toAloftError(e).message}`,
              ...(toAloftError(e).code ? { code: toAloftError(e).code } : {}),
            },
          }),
        ),
    );
  }

  private finishLocal(key: AttemptKey, outcome: AttemptOutcome): void {
    if (this.ended) return;
    const verdict = this.state.decideResult(key, outcome);
    if (verdict.kind === 'accept') this.accept(verdict.events);
  }
}
