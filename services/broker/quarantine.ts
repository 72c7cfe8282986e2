/**
 * Agent health policies as pure functions of events and the scheduler's monotonic clock:
 *
 * - Quarantine: an agent whose attempts ended in infrastructure failures (crashes, lost
 *   attempts, spawn errors) `failures` times within `windowMs` is quarantined for
 *   `periodMs` from the failure that tripped it. Failures during a quarantine, or before
 *   the one that tripped it, do not count towards the next one: after a quarantine the
 *   agent starts with a clean slate. Application failures are the job's, not the agent's,
 *   and never count (unless configured in `kinds`).
 * - Mass-loss guard: when more than `fraction` of the agents became lost within `windowMs`
 *   (and at least `minLost` of them), the cause is most likely the scheduler's own network
 *   or NATS, not the agents: rescheduling their attempts is held back and an alert raised.
 *   The hold lasts while the condition does; the scheduler may latch it until an operator
 *   acts.
 */
import type { FailureKind } from '../../proto/index.js';
import type { AgentState } from './agent-view.js';

export interface AgentFailureEvent {
  agent: string;
  /** Scheduler monotonic time (ms) the attempt ended. */
  at: number;
  kind: FailureKind;
}

export interface QuarantineOptions {
  /** Failures within the window that trip a quarantine (default 3). */
  failures?: number;
  /** Sliding window (default 10 minutes). */
  windowMs?: number;
  /** How long a quarantine lasts (default 30 minutes). */
  periodMs?: number;
  /** Failure kinds that count (default: infrastructure only). */
  kinds?: readonly FailureKind[];
}

export interface Quarantine {
  agent: string;
  /** When it was tripped (the time of the last counted failure). */
  since: number;
  until: number;
  /** Failures in the window that tripped it. */
  failures: number;
  message: string;
}

const MINUTE = 60_000;

export class QuarantinePolicy {
  readonly failures: number;
  readonly windowMs: number;
  readonly periodMs: number;
  readonly kinds: ReadonlySet<FailureKind>;

  constructor(options: QuarantineOptions = {}) {
    this.failures = options.failures ?? 3;
    this.windowMs = options.windowMs ?? 10 * MINUTE;
    this.periodMs = options.periodMs ?? 30 * MINUTE;
    this.kinds = new Set(options.kinds ?? ['infrastructure']);
    if (!Number.isInteger(this.failures) || this.failures < 1) {
      throw new RangeError(`quarantine failures must be a positive integer, got ${this.failures}`);
    }
    if (!(this.windowMs > 0) || !(this.periodMs > 0)) {
      throw new RangeError('quarantine windowMs and periodMs must be positive');
    }
  }

  /**
   * Agents quarantined at `now`, by agent id, judged from the events (any order; events
   * after `now` are ignored).
   */
  evaluate(events: readonly AgentFailureEvent[], now: number): Map<string, Quarantine> {
    const byAgent = new Map<string, number[]>();
    for (const e of events) {
      if (!this.kinds.has(e.kind) || e.at > now) continue;
      let list = byAgent.get(e.agent);
      if (!list) byAgent.set(e.agent, (list = []));
      list.push(e.at);
    }
    const out = new Map<string, Quarantine>();
    for (const [agent, times] of byAgent) {
      times.sort((a, b) => a - b);
      let last: Quarantine | undefined;
      let from = 0; // first failure that still counts
      for (let i = 0; i < times.length; i++) {
        const t = times[i]!;
        if (last && t < last.until) {
          from = i + 1; // during a quarantine: does not count
          continue;
        }
        while (times[from]! <= t - this.windowMs) from++;
        const count = i - from + 1;
        if (count >= this.failures) {
          last = {
            agent,
            since: t,
            until: t + this.periodMs,
            failures: count,
            message: `agent ${agent} quarantined: ${count} infrastructure failures within ${Math.round(
              this.windowMs / 1000,
            )} s`,
          };
          from = i + 1;
        }
      }
      if (last && now < last.until) out.set(agent, last);
    }
    return out;
  }

  isQuarantined(agent: string, events: readonly AgentFailureEvent[], now: number): boolean {
    return this.evaluate(
      events.filter((e) => e.agent === agent),
      now,
    ).has(agent);
  }
}

export interface MassLossOptions {
  /** Hold when more than this fraction of agents became lost in the window (default 0.5). */
  fraction?: number;
  /** Window (default 60 s). */
  windowMs?: number;
  /** Fewer recent losses than this never hold (default 2: one lost agent is not a mass loss). */
  minLost?: number;
  /**
   * How long a lost agent's attempts wait before they are rescheduled, so that agents
   * lost together — whose heartbeats were out of phase, so their leases end in different
   * sweeps — are judged together (default: a third of the shortest lease, at most 5 s).
   */
  settleMs?: number;
}

export interface MassLossVerdict {
  hold: boolean;
  /** Agents that became lost within the window. */
  recentlyLost: number;
  /** Agents counted: not lost, or lost within the window (long-gone agents do not count). */
  total: number;
  message: string;
}

/**
 * Mass-loss guard over the agents' states. `stateSince` (monotonic ms) says when a lost
 * agent became lost; a lost agent without it counts as lost just now.
 */
export function massLoss(
  agents: readonly { state: AgentState; stateSince?: number }[],
  now: number,
  options: MassLossOptions = {},
): MassLossVerdict {
  const fraction = options.fraction ?? 0.5;
  const windowMs = options.windowMs ?? 60_000;
  const minLost = options.minLost ?? 2;
  let recentlyLost = 0;
  let total = 0;
  for (const a of agents) {
    if (a.state !== 'lost') {
      total++;
      continue;
    }
    const since = a.stateSince ?? now;
    if (now - since <= windowMs) {
      recentlyLost++;
      total++;
    }
  }
  const hold = recentlyLost >= minLost && total > 0 && recentlyLost / total > fraction;
  const pct = total === 0 ? 0 : Math.round((recentlyLost / total) * 100);
  return {
    hold,
    recentlyLost,
    total,
    message: hold
      ? `${recentlyLost} of ${total} agents (${pct}%) lost within ${Math.round(windowMs / 1000)} s: rescheduling their attempts is held back (suspect the scheduler's network or NATS)`
      : `${recentlyLost} of ${total} agents lost within ${Math.round(windowMs / 1000)} s`,
  };
}

/** True when rescheduling should be held back (see massLoss). */
export function massLossHold(
  agents: readonly { state: AgentState; stateSince?: number }[],
  now: number,
  options: MassLossOptions = {},
): boolean {
  return massLoss(agents, now, options).hold;
}
