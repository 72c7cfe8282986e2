/**
 * The agent (DESIGN §6 "Agents"): a lightweight daemon that advertises itself, accepts
 * attempt offers up to its slots, runs each attempt through its lifecycle hooks and reports
 * the result reliably. It talks to the scheduler only through the transport, with the
 * messages of proto/agent-protocol.ts on the subjects of proto/subjects.ts.
 *
 * Lifecycle of one attempt, in order:
 *   prepare  — fresh scratch dir `${workDir}/scratch/${job}.${attempt}.${epoch}`
 *   stageIn  — inputs into scratch (staging.ts), through the job's view of its stores
 *              (agents/stores: its StoreAccess over this agent's environment), as are
 *              stage-out, transfer and cleanup jobs
 *   run      — AttemptStartedMsg, then the executor chosen by the job's kind; the runtime
 *              limit (profile pegasus.maxwalltime, minutes) is enforced here; a transfer
 *              job's progress is the same message re-sent with `progress` (throttled)
 *   stageOut — verify and upload declared outputs (staging.ts)
 *   report   — AttemptResultMsg published, retransmitted every `resultRetryMs` until a
 *              ResultAck for the same key arrives, and written to the outbox unless that
 *              ack came within `resultPersistDelayMs` (see `report` for why)
 *   cleanup  — scratch removed on success (an empty one is recycled: scratch-pool.ts),
 *              kept on failure for debugging; the input cache's pins of the attempt are
 *              released
 * Disk full (disk-full.ts): a failure from ENOSPC in stage-in, run or stage-out is
 * `infrastructure` (code ENOSPC); before reporting it the agent removes that scratch,
 * evicts every cache entry not in use and re-advertises its free disk.
 * The slot is freed before the result is published, so a scheduler reacting to the result
 * at once finds the slot free.
 *
 * The invocation record's `start`/`durationMs` cover the whole attempt on the agent
 * (stage-in, run and stage-out): what the attempt cost, not only the process's run time.
 *
 * Prefetch: with `prefetch` N > 0 the agent also accepts up to N attempts beyond its slots;
 * they wait in a FIFO queue (counted in `running()`, so heartbeats name them and their
 * leases hold) and start, in order, as slots free. A kill of a queued attempt, or a stop,
 * ends it at once as `cancelled` without creating its scratch.
 *
 * Offers are rejected (with a reason) when the agent is stopping, all slots and the queue
 * are busy, the job is a `register` job (done by the submit side), the offer is malformed, or the same
 * job attempt of the same run is still running here under another epoch (jobs of
 * different workflows may share ids: each attempt's scratch is named by its epoch too,
 * which the scheduler makes unique across its workflows). A repeated offer of a running or
 * already finished attempt is accepted without running it again (the finished result is
 * resent). Once the result is acknowledged, a repeated offer of that attempt is rejected
 * ("already ran here"): an attempt runs at most once per agent process, however often its
 * offer is delivered. The agent remembers the last FINISHED_KEPT finished attempts for
 * this (not across restarts; the scheduler's epoch fencing covers what is older).
 */
import { mkdir, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AloftError } from '../../lib/errors/index.js';
import { silentLogger, type Logger } from '../../lib/logging/index.js';
import type { Subscription, Transport } from '../../lib/transport/index.js';
import {
  subjects,
  subjectToken,
  type AgentAd,
  emptyInvocationRecord,
  type AdvertiseRequestMsg,
  type AttemptKey,
  type AttemptOutcome,
  type AttemptResultMsg,
  type AttemptStartedMsg,
  type Failure,
  type InvocationRecord,
  type KillMsg,
  type Offer,
  type OfferReply,
  type PlannedJob,
  type ResultAck,
  type TransferProgress,
} from '../../proto/index.js';
import {
  createCleanupExecutor,
  createClusterExecutor,
  createDockerExecutor,
  createProcessExecutor,
  createSyntheticExecutor,
  createTransferExecutor,
  plannedArgv,
  SYNTHETIC_PFN,
  type ExecOutcome,
  type Executor,
} from '../executors/index.js';
import { createInputCache, type InputCache, type InputCacheOptions } from '../cache/index.js';
import { classifyRunFailure, isDiskFull } from './disk-full.js';
import { createOutbox, keyId, type Outbox } from './outbox.js';
import { failureOf, inputsOf, outputsOf, stageIn, stageOut } from './staging.js';
import { storeForJob } from '../stores/index.js';
import { ScratchPool } from './scratch-pool.js';

/** The executors an agent uses, by role. Any may be replaced (tests, other runtimes). */
export interface AgentExecutors {
  process: Executor;
  synthetic: Executor;
  /** Compute jobs whose executable names a docker container. */
  docker: Executor;
  transfer: Executor;
  cleanup: Executor;
}

export interface AgentOptions {
  /** Agent id; becomes part of subjects, so [A-Za-z0-9_-]{1,128}. */
  id: string;
  /** The site this agent belongs to (recorded in invocation records). */
  site: string;
  /** Further sites it serves (the embedded agent serves every site). */
  sites: string[];
  transport: Transport;
  /** Holds `scratch/` and `outbox/`. */
  workDir: string;
  /** Attempts run at once. */
  slots: number;
  /**
   * Attempts accepted beyond `slots` that wait here, in order, for a slot (default 0).
   * With a queue the next attempt starts the moment a slot frees instead of one round trip
   * to the scheduler later — what keeps a slot busy with jobs of a few milliseconds. The
   * cost: a queued attempt is committed to this agent while another may have gone idle,
   * so keep it small (the slots' worth at most) and at 0 for long jobs.
   */
  prefetch?: number;
  logger?: Logger;
  executors?: Partial<AgentExecutors>;
  /** Result retransmission period until acknowledged (default 2000 ms). */
  resultRetryMs?: number;
  /**
   * How long a result may wait for its ack before it is written to the outbox (default
   * 250 ms; 0 = at once). An ack within that time saves the disk writes and fsyncs.
   */
  resultPersistDelayMs?: number;
  /** Labels advertised in the ad. */
  labels?: Record<string, string>;
  /**
   * Ad fields measured by the caller (the daemon's system probe: cores, memory, free disk,
   * gpus, arch, os), merged over the agent's own estimates each time it advertises.
   */
  describe?: (signal?: AbortSignal) => Promise<Partial<AgentAd>>;
  /**
   * The input cache for non-local inputs (agents/cache), which the agent creates and owns:
   * its options (default dir `${workDir}/cache`, budget 10% of that filesystem), or
   * `false` for none (such inputs are then fetched for every attempt).
   */
  cache?: Partial<Omit<InputCacheOptions, 'logger'>> | false;
  /**
   * Least time between two progress reports of one transfer job (the attempt-started
   * message re-sent with its files and bytes done; default 2000 ms). The latest progress
   * is sent when the interval is over, if the job still runs.
   */
  progressIntervalMs?: number;
  /**
   * Send an attempt's AttemptStartedMsg only once it has run this long (default 0: at
   * once). The scheduler journals the attempt as started when the offer is accepted and
   * learns what runs from heartbeats; this message is for watchers and logs, and an
   * attempt done sooner says everything in its result — for jobs of milliseconds it is
   * one message per job saved.
   */
  startedNoticeMs?: number;
}

export interface Agent {
  readonly id: string;
  start(): Promise<void>;
  /**
   * Drain: reject new offers, let running attempts finish for up to `graceMs`, then stop
   * the rest (they report failure kind `cancelled`); resolves when every attempt has
   * reported. Unacknowledged results stay in the outbox for the next start.
   */
  stop(options?: StopOptions): Promise<void>;
  /**
   * stop() for a daemon told to go away (SIGTERM): offers are rejected with reason
   * "agent ID is draining", an ad with `state: 'draining'` is published at once, attempts
   * still running after the grace are handed back (failure kind `cancelled`).
   */
  drain(options?: StopOptions): Promise<void>;
  /** Publish the ad now (on start, on reconnect, when something material changed). */
  advertise(signal?: AbortSignal): Promise<void>;
  running(): AttemptKey[];
  /** Results reported but not yet acknowledged by the scheduler. */
  unacknowledged(): number;
  /** The input cache (undefined with `cache: false`). */
  readonly cache: InputCache | undefined;
}

export interface StopOptions {
  /** How long running attempts may go on before they are stopped (default 0). */
  graceMs?: number;
  /**
   * After the last attempt reported, keep retransmitting unacknowledged results for up to
   * this long, so a clean stop leaves nothing in the outbox (default 0). Whatever is still
   * unacknowledged then stays in the outbox for the next start.
   */
  ackWaitMs?: number;
}

interface Active {
  key: AttemptKey;
  offer: Offer;
  abort: AbortController;
  /** Settles when the attempt has reported (a queued one: once started and reported). */
  done: Promise<void>;
  /** Set while it waits in the queue: starts it (once). */
  start?: () => void;
}

interface Pending {
  msg: AttemptResultMsg;
  timer: NodeJS.Timeout;
  /** Until it fires, the result exists only in memory. */
  persistTimer?: NodeJS.Timeout;
  /** Set once the outbox write began; settles when it is done (removal waits for it). */
  persisted?: Promise<void>;
}

const cancelled = (message: string): AloftError => new AloftError('CANCELLED', message);

/** Finished attempts remembered to refuse re-delivered offers (a few hundred kB at most). */
export const FINISHED_KEPT = 10_000;

function keyOk(k: unknown): k is AttemptKey {
  const key = k as AttemptKey | undefined;
  return (
    typeof key?.job === 'string' &&
    Number.isInteger(key.attempt) &&
    key.attempt >= 1 &&
    Number.isInteger(key.epoch) &&
    key.epoch >= 0
  );
}

/** Runtime limit in ms from profile pegasus.maxwalltime (minutes); undefined = none. */
export function runtimeLimitMs(job: PlannedJob): number | undefined {
  const raw = job.profiles?.['pegasus']?.['maxwalltime'];
  const minutes = raw === undefined ? NaN : Number(raw);
  if (Number.isFinite(minutes) && minutes > 0) return minutes * 60_000;
  if (job.kind === 'cluster' && job.members && job.members.length > 0) {
    const limits = job.members.map(runtimeLimitMs);
    if (limits.every((l) => l !== undefined)) return limits.reduce((a, b) => a + (b ?? 0), 0);
  }
  return undefined;
}

export function createAgent(opts: AgentOptions): Agent {
  const id = subjectToken('agent id', opts.id);
  const { transport, site } = opts;
  const workDir = path.resolve(opts.workDir);
  const scratchRoot = path.join(workDir, 'scratch');
  const scratchPool = new ScratchPool(
    path.join(workDir, '.scratch-pool'),
    2 * (opts.slots + (opts.prefetch ?? 0)) + 2,
  );
  const logger = (opts.logger ?? silentLogger).child({ component: 'agent', agent: id });
  const retryMs = opts.resultRetryMs ?? 2000;
  const persistDelayMs = opts.resultPersistDelayMs ?? 250;
  const progressIntervalMs = opts.progressIntervalMs ?? 2000;
  const startedNoticeMs = opts.startedNoticeMs ?? 0;
  const host = os.hostname();
  let user = process.env['USER'] ?? 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry
  }

  // Executors made here are closed by stop(); injected ones belong to the caller.
  const owned: Executor[] = [];
  const own = <E extends Executor>(e: E): E => {
    owned.push(e);
    return e;
  };
  const process_ = opts.executors?.process ?? own(createProcessExecutor());
  const synthetic = opts.executors?.synthetic ?? createSyntheticExecutor();
  // Creating it does not contact the daemon; the first docker attempt does.
  const docker = opts.executors?.docker ?? createDockerExecutor();
  const computeFor = (job: PlannedJob): Executor =>
    job.executable?.pfn === SYNTHETIC_PFN
      ? synthetic
      : job.executable?.container?.type === 'docker'
        ? docker
        : process_;
  const cache =
    opts.cache === false
      ? undefined
      : createInputCache({ dir: path.join(workDir, 'cache'), ...opts.cache, logger });
  const executors: Record<string, Executor> = {
    compute: process_,
    transfer: opts.executors?.transfer ?? createTransferExecutor(),
    cleanup: opts.executors?.cleanup ?? createCleanupExecutor(),
    cluster: createClusterExecutor(computeFor),
  };
  function executorFor(job: PlannedJob): Executor | undefined {
    switch (job.kind) {
      case 'compute':
        return computeFor(job);
      case 'cluster':
        return executors['cluster'];
      case 'stage_in':
      case 'stage_out':
      case 'inter_site':
        return executors['transfer'];
      case 'cleanup':
        return executors['cleanup'];
      default:
        return undefined;
    }
  }

  const prefetch = opts.prefetch ?? 0;
  /** Attempts accepted here, running or queued (by keyId). */
  const active = new Map<string, Active>();
  /** The queued ones, in the order they start. */
  const queue: Active[] = [];
  const pending = new Map<string, Pending>();
  /** Keys of attempts that finished here, oldest first (at most FINISHED_KEPT). */
  const finished = new Set<string>();
  function rememberFinished(k: string): void {
    finished.add(k);
    if (finished.size > FINISHED_KEPT) finished.delete(finished.values().next().value!);
  }
  const background = new Set<Promise<unknown>>();
  /** Scratch dirs being removed in the background: a new attempt there waits for it. */
  const removing = new Map<string, Promise<void>>();
  const subs: Subscription[] = [];
  let outbox: Outbox | undefined;
  let state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  let stopping: Promise<void> | undefined;
  /** Set by drain(): the stop is a drain (rejection reason and ad state say so). */
  let draining = false;
  /** Called whenever `pending` becomes empty (stop's ack wait). */
  let onAllAcked: (() => void) | undefined;

  function publish(subject: string, data: unknown): void {
    try {
      transport.publish(subject, data);
    } catch (e) {
      logger.warn({ err: e, subject }, 'publish failed');
    }
  }

  function track<T>(p: Promise<T>): void {
    const t = p.catch((e: unknown) => logger.error({ err: e }, 'background task failed'));
    background.add(t);
    void t.finally(() => background.delete(t));
  }

  // ---- report: outbox + retransmission -------------------------------------------------

  /** Start the outbox write of a pending result (once); stop() and the timer call it. */
  function persist(p: Pending): Promise<void> {
    if (p.persistTimer) clearTimeout(p.persistTimer);
    p.persistTimer = undefined;
    if (!p.persisted) {
      p.persisted = (outbox?.put(p.msg) ?? Promise.resolve()).catch((e: unknown) => {
        // Retransmission from memory goes on: the result is not lost while this process lives.
        logger.error({ err: e, key: keyId(p.msg.key) }, 'outbox write failed');
      });
      track(p.persisted);
    }
    return p.persisted;
  }

  /**
   * Send a result now and every `retryMs` until acked. `persisted` is given for results
   * already in the outbox (loaded at start); others are written after `persistDelayMs`
   * unless acked first. A result already pending keeps its outbox state.
   */
  function sendPending(msg: AttemptResultMsg, persisted?: Promise<void>): void {
    const k = keyId(msg.key);
    const old = pending.get(k);
    if (old) clearInterval(old.timer);
    const timer = setInterval(() => {
      logger.debug({ key: k }, 'result retransmitted');
      publish(subjects.attemptResult(id), msg);
    }, retryMs);
    timer.unref();
    const p: Pending = old
      ? { ...old, timer }
      : { msg, timer, ...(persisted ? { persisted } : {}) };
    pending.set(k, p);
    if (!p.persisted && !p.persistTimer) {
      if (persistDelayMs <= 0) {
        void persist(p);
      } else {
        p.persistTimer = setTimeout(() => void persist(p), persistDelayMs);
        p.persistTimer.unref();
      }
    }
    publish(subjects.attemptResult(id), msg);
  }

  function onAck(ack: ResultAck): void {
    if (!keyOk(ack?.key)) return;
    const k = keyId(ack.key);
    const p = pending.get(k);
    if (!p) return;
    clearInterval(p.timer);
    if (p.persistTimer) clearTimeout(p.persistTimer);
    pending.delete(k);
    if (pending.size === 0) onAllAcked?.();
    const ob = outbox;
    // Acked before it was written: nothing on disk to forget.
    if (ob && p.persisted) track(p.persisted.then(() => ob.remove(ack.key)));
  }

  // ---- one attempt ---------------------------------------------------------------------

  function baseRecord(
    job: PlannedJob,
    key: AttemptKey,
    scratch: string,
    t0: number,
  ): InvocationRecord {
    return emptyInvocationRecord({
      job: job.id,
      attempt: key.attempt,
      agent: id,
      site,
      host,
      user,
      executor: executorFor(job)?.name ?? job.kind,
      argv: plannedArgv(job),
      cwd: scratch,
      start: new Date(t0).toISOString(),
    });
  }

  function mergeRun(rec: InvocationRecord, out: ExecOutcome): void {
    rec.executor = out.executor;
    rec.argv = out.argv;
    rec.exitCode = out.exitCode;
    rec.signal = out.signal;
    rec.utimeMs = out.utimeMs;
    rec.stimeMs = out.stimeMs;
    rec.maxRssKb = out.maxRssKb;
    rec.stdoutTail = out.stdoutTail;
    rec.stderrTail = out.stderrTail;
    rec.stdoutBytes = out.stdoutBytes;
    rec.stderrBytes = out.stderrBytes;
    rec.transfers.push(...out.transfers);
  }

  async function runHook(
    a: Active,
    rec: InvocationRecord,
    scratch: string,
  ): Promise<{ failure?: Failure; timedOut: boolean }> {
    const job = a.offer.job;
    const executor = executorFor(job);
    if (!executor) {
      return {
        failure: { kind: 'infrastructure', message: `no executor for ${job.kind} jobs` },
        timedOut: false,
      };
    }
    const started: AttemptStartedMsg = { key: a.key, agent: id, site, host };
    let notice: NodeJS.Timeout | undefined;
    if (startedNoticeMs <= 0) publish(subjects.attemptStarted(id), started);
    else {
      notice = setTimeout(() => publish(subjects.attemptStarted(id), started), startedNoticeMs);
      notice.unref();
    }
    const progress = progressReporter(started);
    const limit = runtimeLimitMs(job);
    // Without a runtime limit the attempt's own signal is the whole story (no second
    // controller and no AbortSignal.any per attempt).
    const timeout = limit === undefined ? undefined : new AbortController();
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(
            () =>
              timeout.abort(
                new AloftError('DEADLINE_EXCEEDED', `job ${job.id} exceeded its runtime limit`),
              ),
            limit,
          );
    const signal = timeout ? AbortSignal.any([a.abort.signal, timeout.signal]) : a.abort.signal;
    try {
      const out = await executor.run({
        job,
        key: a.key,
        agent: id,
        site,
        scratch,
        signal,
        logger,
        progress: progress.report,
      });
      mergeRun(rec, out);
      const timedOut = timeout?.signal.aborted ?? false;
      return out.failure ? { failure: out.failure, timedOut } : { timedOut };
    } catch (e) {
      return { failure: failureOf(e, job.id), timedOut: timeout?.signal.aborted ?? false };
    } finally {
      if (timer) clearTimeout(timer);
      if (notice) clearTimeout(notice);
      progress.stop();
    }
  }

  /**
   * Progress of one attempt, sent as its AttemptStartedMsg with `progress`: never within
   * the interval after the start or the last report — a job done sooner reports nothing,
   * its result says it all — else at once, or when the interval is over (the latest values
   * then); nothing after `stop()` or when unchanged.
   */
  function progressReporter(started: AttemptStartedMsg): {
    report: (p: TransferProgress) => void;
    stop: () => void;
  } {
    let latest: TransferProgress | undefined;
    let sent = '';
    let lastAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const send = (): void => {
      timer = undefined;
      if (stopped || !latest) return;
      const text = JSON.stringify(latest);
      if (text === sent) return;
      sent = text;
      lastAt = Date.now();
      publish(subjects.attemptStarted(id), { ...started, progress: latest });
    };
    return {
      report(p) {
        if (stopped) return;
        latest = { ...p };
        if (timer) return;
        const wait = lastAt + progressIntervalMs - Date.now();
        if (wait <= 0) send();
        else (timer = setTimeout(send, wait)).unref();
      },
      stop() {
        stopped = true;
        if (timer) clearTimeout(timer);
      },
    };
  }

  async function execute(a: Active): Promise<void> {
    const job = a.offer.job;
    const t0 = Date.now();
    const scratch = path.join(scratchRoot, `${job.id}.${a.key.attempt}.${a.key.epoch}`);
    const rec = baseRecord(job, a.key, scratch, t0);
    const signal = a.abort.signal;
    let failure: Failure | undefined;
    let timedOut = false;
    let releaseInputs: (() => void) | undefined;
    try {
      // prepare (a queued attempt killed before its start ends here, nothing created)
      signal.throwIfAborted();
      await removing.get(scratch);
      await scratchPool.fresh(scratch);
      // stageIn
      // The job's view of its stores (its StoreAccess over this agent's environment).
      const stores = storeForJob(job);
      const si = await stageIn(inputsOf(job), scratch, job.id, signal, {
        storeFor: stores,
        ...(cache ? { cache } : {}),
      });
      releaseInputs = si.release;
      rec.files.push(...si.files);
      rec.transfers.push(...si.transfers);
      failure = si.failure;
      // run
      if (!failure) {
        signal.throwIfAborted();
        ({ failure, timedOut } = await runHook(a, rec, scratch));
      }
      // stageOut
      if (!failure) {
        signal.throwIfAborted();
        const so = await stageOut(outputsOf(job), scratch, job.id, signal, { storeFor: stores });
        rec.files.push(...so.files);
        rec.transfers.push(...so.transfers);
        failure = so.failure;
      }
    } catch (e) {
      failure = failureOf(e, job.id);
    }
    if (failure && timedOut) {
      const limit = runtimeLimitMs(job) ?? 0;
      failure = {
        kind: 'timeout',
        message: `job ${job.id} exceeded its runtime limit of ${limit / 60_000} minutes (pegasus.maxwalltime) and was stopped`,
      };
    } else if (failure && signal.aborted) {
      const reason: unknown = signal.reason;
      failure = {
        kind: 'cancelled',
        message: reason instanceof Error ? reason.message : `attempt of job ${job.id} cancelled`,
      };
    } else if (failure?.kind === 'application') {
      failure = await classifyRunFailure(failure, rec, scratch, job.id);
    }
    releaseInputs?.();
    if (isDiskFull(failure)) await recoverDisk(scratch);
    rec.durationMs = Date.now() - t0;
    const outcome: AttemptOutcome = failure
      ? { ok: false, record: rec, failure }
      : { ok: true, record: rec };
    report({ key: a.key, agent: id, outcome }, a);
    // cleanup (after the slot is free; stop() waits for it)
    if (!failure) {
      const removal = scratchPool
        .release(scratch)
        .catch((e: unknown) => logger.warn({ err: e, scratch }, 'scratch cleanup failed'))
        .finally(() => {
          if (removing.get(scratch) === removal) removing.delete(scratch);
        });
      removing.set(scratch, removal);
      track(removal);
    }
  }

  /** Disk full (disk-full.ts): free what the agent can, then tell the scheduler. */
  async function recoverDisk(scratch: string): Promise<void> {
    try {
      await rm(scratch, { recursive: true, force: true });
      const evicted = await cache?.evictUnpinned();
      logger.warn({ scratch, evicted }, 'disk full: scratch removed, unused cache entries evicted');
      await advertise();
    } catch (e) {
      logger.warn({ err: e }, 'freeing disk after a disk-full failure failed');
    }
  }

  /**
   * The result is sent at once; the outbox write (a file, two fsyncs, later an unlink)
   * waits `persistDelayMs` for the ack and is skipped when it comes — on a healthy link
   * it always does, so the disk is touched only when the scheduler is slow or cut off,
   * which is exactly when the outbox matters. What this trades: if this process dies
   * within that delay AND the scheduler never received the result, the attempt is
   * declared lost at its lease and runs again — the same outcome as the agent dying a
   * moment before the attempt ended. A result older than the delay, or unacknowledged at
   * stop(), is on disk and survives any crash.
   */
  function report(msg: AttemptResultMsg, a: Active): void {
    active.delete(keyId(a.key));
    rememberFinished(keyId(a.key));
    logger.debug({ key: keyId(a.key), ok: msg.outcome.ok }, 'attempt finished');
    // The freed slot takes the next queued attempt before the result goes out.
    startQueued();
    sendPending(msg);
  }

  // ---- offers and kills ----------------------------------------------------------------

  function decide(offer: Offer): OfferReply & { start?: 'now' | 'queue' } {
    if (!keyOk(offer?.key) || typeof offer.job?.id !== 'string') {
      return { accepted: false, reason: 'malformed offer: key or job missing' };
    }
    if (offer.key.job !== offer.job.id) {
      return {
        accepted: false,
        reason: `offer key names job ${offer.key.job} but carries job ${offer.job.id}`,
      };
    }
    try {
      subjectToken('job id', offer.job.id);
    } catch {
      return { accepted: false, reason: `job id '${offer.job.id}' is not valid` };
    }
    const k = keyId(offer.key);
    if (active.has(k)) return { accepted: true };
    const done = pending.get(k);
    if (done) {
      sendPending(done.msg);
      return { accepted: true };
    }
    if (finished.has(k)) {
      return {
        accepted: false,
        reason: `attempt ${offer.key.attempt} of job ${offer.key.job} (epoch ${offer.key.epoch}) already ran here and its result was acknowledged`,
      };
    }
    if (state !== 'running') {
      return { accepted: false, reason: `agent ${id} is ${draining ? 'draining' : 'stopping'}` };
    }
    if (offer.job.kind === 'register') {
      return {
        accepted: false,
        reason: 'register jobs are done by the submit side, not by agents',
      };
    }
    if (!executorFor(offer.job)) {
      return { accepted: false, reason: `agent ${id} cannot run ${offer.job.kind} jobs` };
    }
    for (const a of active.values()) {
      if (
        a.offer.runId === offer.runId &&
        a.key.job === offer.key.job &&
        a.key.attempt === offer.key.attempt
      ) {
        return {
          accepted: false,
          reason: `attempt ${offer.key.attempt} of job ${offer.key.job} is still running here under epoch ${a.key.epoch}`,
        };
      }
    }
    const runningNow = active.size - queue.length;
    if (runningNow < opts.slots) return { accepted: true, start: 'now' };
    if (queue.length < prefetch) return { accepted: true, start: 'queue' };
    return {
      accepted: false,
      reason:
        prefetch > 0
          ? `no free slot on agent ${id} (${runningNow}/${opts.slots} busy, ${queue.length}/${prefetch} queued)`
          : `no free slot on agent ${id} (${runningNow}/${opts.slots} busy)`,
    };
  }

  function onOffer(offer: Offer, reply?: (d: unknown) => void): void {
    const { start, ...answer } = decide(offer);
    reply?.(answer);
    if (!start) {
      if (!answer.accepted) logger.debug({ reason: answer.reason }, 'offer rejected');
      return;
    }
    const a: Active = {
      key: offer.key,
      offer,
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    active.set(keyId(offer.key), a);
    if (start === 'now') {
      a.done = launch(a);
      return;
    }
    a.done = new Promise<void>((resolve) => {
      a.start = () => {
        a.start = undefined;
        resolve(launch(a));
      };
    });
    queue.push(a);
  }

  function launch(a: Active): Promise<void> {
    return execute(a).catch((e: unknown) => {
      logger.error({ err: e, key: keyId(a.key) }, 'attempt crashed');
      active.delete(keyId(a.key));
      startQueued();
    });
  }

  /** Start queued attempts while slots are free (after an attempt reported). */
  function startQueued(): void {
    while (queue.length > 0 && active.size - queue.length < opts.slots) {
      queue.shift()!.start?.();
    }
  }

  /** Take an attempt out of the queue and start it now (it ends at once when aborted). */
  function unqueue(a: Active): void {
    const i = queue.indexOf(a);
    if (i < 0) return;
    queue.splice(i, 1);
    a.start?.();
  }

  function onKill(msg: KillMsg): void {
    if (!keyOk(msg?.key)) return;
    const a = active.get(keyId(msg.key));
    if (!a) {
      logger.debug({ key: keyId(msg.key) }, 'kill for an attempt not running here');
      return;
    }
    a.abort.abort(cancelled(`attempt cancelled: ${msg.reason || 'kill requested'}`));
    if (a.start) unqueue(a);
  }

  async function advertise(signal?: AbortSignal): Promise<void> {
    let diskFreeMb = 0;
    try {
      const s = await statfs(workDir);
      diskFreeMb = Math.floor((s.bavail * s.bsize) / (1024 * 1024));
    } catch {
      // unknown
    }
    const ad: AgentAd = {
      agent: id,
      site,
      sites: opts.sites,
      host,
      slots: opts.slots,
      cores: os.availableParallelism(),
      memoryMb: Math.floor(os.totalmem() / (1024 * 1024)),
      diskFreeMb,
      executors: [
        ...new Set([
          process_.name,
          synthetic.name,
          docker.name,
          ...Object.values(executors).map((e) => e.name),
        ]),
      ],
      labels: opts.labels ?? {},
      ...(cache ? { cache: cache.summary() } : {}),
      ...(prefetch > 0 ? { prefetch } : {}),
    };
    if (opts.describe) {
      try {
        Object.assign(ad, await opts.describe(signal));
      } catch (e) {
        logger.warn({ err: e }, 'describe failed; advertising estimates');
      }
    }
    if (draining) ad.state = 'draining';
    publish(subjects.ad(id), ad);
  }

  function stop(options: StopOptions = {}): Promise<void> {
    stopping ??= (async () => {
      if (state === 'new') {
        state = 'stopped';
        return;
      }
      state = 'stopping';
      // Queued attempts never started: handed back at once, so the scheduler can place
      // them elsewhere while the running ones finish.
      for (const a of [...queue]) {
        a.abort.abort(
          cancelled(
            `agent ${id} is ${draining ? 'draining' : 'stopping'}: queued attempt handed back`,
          ),
        );
        unqueue(a);
      }
      const graceMs = options.graceMs ?? 0;
      const all = (): Promise<unknown> => Promise.all([...active.values()].map((a) => a.done));
      if (active.size > 0 && graceMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
      }
      const why = draining
        ? `agent ${id} is draining: attempt handed back after the grace period`
        : `agent ${id} is stopping`;
      for (const a of active.values()) a.abort.abort(cancelled(why));
      await all();
      const ackWaitMs = options.ackWaitMs ?? 0;
      if (pending.size > 0 && ackWaitMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((r) => (onAllAcked = r)),
          new Promise((r) => (timer = setTimeout(r, ackWaitMs))),
        ]);
        clearTimeout(timer);
        onAllAcked = undefined;
      }
      // Whatever is still unacknowledged goes to disk for the next start.
      await Promise.all([...pending.values()].map(persist));
      while (background.size > 0) await Promise.all([...background]);
      await Promise.all(owned.map((e) => e.close?.()));
      await cache?.stop();
      for (const s of subs.splice(0)) s.unsubscribe();
      for (const p of pending.values()) clearInterval(p.timer);
      pending.clear();
      state = 'stopped';
      logger.info('agent stopped');
    })();
    return stopping;
  }

  return {
    id,

    async start() {
      if (state !== 'new')
        throw new AloftError('FAILED_PRECONDITION', `agent ${id} was already started`);
      if (!Number.isInteger(opts.slots) || opts.slots < 1) {
        throw AloftError.invalid({
          where: `agent ${id}: slots`,
          message: `must be a positive integer, got ${opts.slots}`,
        });
      }
      if (!Number.isInteger(prefetch) || prefetch < 0) {
        throw AloftError.invalid({
          where: `agent ${id}: prefetch`,
          message: `must be a non-negative integer, got ${prefetch}`,
        });
      }
      await mkdir(scratchRoot, { recursive: true });
      await scratchPool.start();
      await cache?.start();
      const ob = createOutbox(path.join(workDir, 'outbox'), logger);
      await mkdir(ob.dir, { recursive: true });
      outbox = ob;
      const left = await ob.load();
      subs.push(
        transport.subscribe<Offer>(subjects.offer(id), (m) => onOffer(m.data, m.reply)),
        transport.subscribe<ResultAck>(subjects.ack(id), (m) => onAck(m.data)),
        transport.subscribe<KillMsg>(subjects.kill(id), (m) => onKill(m.data)),
        // A scheduler that has no ad for us (it restarted) asks for one: without it we are
        // alive to the scheduler (heartbeats) but never placed.
        transport.subscribe<AdvertiseRequestMsg>(subjects.advertise(id), (m) => {
          logger.info({ reason: m.data?.reason }, 'advertise requested');
          if (state === 'running') track(advertise());
        }),
      );
      state = 'running';
      await advertise();
      for (const msg of left) {
        rememberFinished(keyId(msg.key));
        sendPending(msg, Promise.resolve());
      }
      logger.info({ slots: opts.slots, resent: left.length }, 'agent started');
    },

    stop,

    drain(options = {}) {
      const publishDraining = state === 'running' && stopping === undefined;
      draining ||= publishDraining;
      const done = stop(options);
      if (publishDraining) track(advertise());
      return done;
    },

    advertise,

    running() {
      return [...active.values()].map((a) => ({ ...a.key }));
    },

    unacknowledged() {
      return pending.size;
    },

    cache,
  };
}
