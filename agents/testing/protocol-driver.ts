/**
 * Drives an agent through a real transport with the real protocol messages, playing the
 * scheduler's part: offers (request/reply), started and result messages received, acks
 * and kills sent. Used by the agent's tests and handy for benchmarks; it contains no
 * scheduling logic of its own.
 */
import { AloftError } from '../../lib/errors/index.js';
import type { Subscription, Transport } from '../../lib/transport/index.js';
import {
  subjects,
  type AgentAd,
  type AttemptKey,
  type AttemptResultMsg,
  type AttemptStartedMsg,
  type OfferReply,
  type PlannedJob,
  type Resources,
} from '../../proto/index.js';

const sameKey = (a: AttemptKey, b: AttemptKey): boolean =>
  a.job === b.job && a.attempt === b.attempt && a.epoch === b.epoch;

export interface ProtocolDriver {
  /** Every result received, retransmissions included, in arrival order. */
  readonly results: AttemptResultMsg[];
  readonly started: AttemptStartedMsg[];
  readonly ads: AgentAd[];
  /** Acknowledge every result as it arrives (default true). */
  autoAck: boolean;
  offer(
    job: PlannedJob,
    o?: { attempt?: number; epoch?: number; runId?: string; timeoutMs?: number },
  ): Promise<{ key: AttemptKey; reply: OfferReply }>;
  /** The first result for `key` (already received or the next to arrive). */
  result(key: AttemptKey, timeoutMs?: number): Promise<AttemptResultMsg>;
  /** Resolves when `n` results (retransmissions included) have arrived for `key`. */
  resultCount(key: AttemptKey, n: number, timeoutMs?: number): Promise<void>;
  /** Resolves when the agent has reported that `key` started running. */
  startedOf(key: AttemptKey, timeoutMs?: number): Promise<AttemptStartedMsg>;
  ack(key: AttemptKey): void;
  kill(key: AttemptKey, reason: string): void;
  close(): void;
}

export function createProtocolDriver(transport: Transport, agentId: string): ProtocolDriver {
  const results: AttemptResultMsg[] = [];
  const started: AttemptStartedMsg[] = [];
  const ads: AgentAd[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };

  function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const now = probe();
      if (now !== undefined) return resolve(now);
      const check = (): void => {
        const v = probe();
        if (v === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new AloftError('DEADLINE_EXCEEDED', `no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
    });
  }

  const driver: ProtocolDriver = {
    results,
    started,
    ads,
    autoAck: true,

    async offer(job, o = {}) {
      const key: AttemptKey = { job: job.id, attempt: o.attempt ?? 1, epoch: o.epoch ?? 1 };
      const reply = await transport.request<OfferReply>(
        subjects.offer(agentId),
        { key, runId: o.runId ?? 'run-1', job },
        { timeoutMs: o.timeoutMs ?? 5000 },
      );
      return { key, reply };
    },

    result(key, timeoutMs = 30_000) {
      return waitFor(
        () => results.find((r) => sameKey(r.key, key)),
        `result for ${key.job}`,
        timeoutMs,
      );
    },

    async resultCount(key, n, timeoutMs = 30_000) {
      await waitFor(
        () => (results.filter((r) => sameKey(r.key, key)).length >= n ? true : undefined),
        `${n} results for ${key.job}`,
        timeoutMs,
      );
    },

    startedOf(key, timeoutMs = 30_000) {
      return waitFor(
        () => started.find((s) => sameKey(s.key, key)),
        `start of ${key.job}`,
        timeoutMs,
      );
    },

    ack(key) {
      transport.publish(subjects.ack(agentId), { key });
    },

    kill(key, reason) {
      transport.publish(subjects.kill(agentId), { key, reason });
    },

    close() {
      for (const s of subs) s.unsubscribe();
    },
  };

  const subs: Subscription[] = [
    transport.subscribe<AttemptResultMsg>(subjects.attemptResult(agentId), (m) => {
      results.push(m.data);
      if (driver.autoAck) driver.ack(m.data.key);
      wake();
    }),
    transport.subscribe<AttemptStartedMsg>(subjects.attemptStarted(agentId), (m) => {
      started.push(m.data);
      wake();
    }),
    transport.subscribe<AgentAd>(subjects.ad(agentId), (m) => {
      ads.push(m.data);
      wake();
    }),
  ];
  return driver;
}

const NO_RESOURCES: Resources = { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0 };

/** A planned job with defaults for everything not given (kind compute, site local). */
export function plannedJob(p: Partial<PlannedJob> & { id: string }): PlannedJob {
  return {
    kind: 'compute',
    site: 'local',
    parents: [],
    covers: [p.id],
    priority: 0,
    retries: 0,
    ...p,
    resources: { ...NO_RESOURCES, ...p.resources },
  };
}

/** A compute job running an installed executable with args. */
export function processJob(
  id: string,
  argv: [string, ...string[]],
  rest: Partial<PlannedJob> = {},
): PlannedJob {
  const [pfn, ...args] = argv;
  return plannedJob({
    id,
    executable: { name: pfn.split('/').pop() ?? pfn, pfn, type: 'installed' },
    args,
    ...rest,
  });
}
