import { describe, expect, it } from 'vitest';
import type { FailureKind } from '../../proto/index.js';
import { massLoss, massLossHold, QuarantinePolicy, type AgentFailureEvent } from './quarantine.js';

const S = 1000;
const ev = (
  agent: string,
  at: number,
  kind: FailureKind = 'infrastructure',
): AgentFailureEvent => ({
  agent,
  at,
  kind,
});

describe('QuarantinePolicy', () => {
  const policy = new QuarantinePolicy({ failures: 3, windowMs: 60 * S, periodMs: 300 * S });

  it('quarantines after N infrastructure failures within the window, for the period', () => {
    const events = [ev('a', 0), ev('a', 20 * S), ev('a', 50 * S)];
    expect(policy.evaluate(events, 49 * S).has('a')).toBe(false); // only two so far
    const q = policy.evaluate(events, 50 * S).get('a');
    expect(q).toMatchObject({ agent: 'a', since: 50 * S, until: 350 * S, failures: 3 });
    expect(q!.message).toBe('agent a quarantined: 3 infrastructure failures within 60 s');
    expect(policy.isQuarantined('a', events, 349 * S)).toBe(true);
    expect(policy.isQuarantined('a', events, 350 * S)).toBe(false); // period over
  });

  it('does not quarantine failures spread wider than the window', () => {
    const events = [ev('a', 0), ev('a', 40 * S), ev('a', 80 * S), ev('a', 120 * S)];
    expect(policy.evaluate(events, 200 * S).size).toBe(0);
    // The window is (t - window, t]: a failure exactly one window earlier no longer counts.
    expect(policy.evaluate([ev('b', 0), ev('b', 30 * S), ev('b', 60 * S)], 60 * S).size).toBe(0);
  });

  it('counts only infrastructure failures unless configured otherwise', () => {
    const events = [ev('a', 0, 'application'), ev('a', 1 * S, 'timeout'), ev('a', 2 * S, 'data')];
    expect(policy.evaluate(events, 3 * S).size).toBe(0);
    const strict = new QuarantinePolicy({
      failures: 3,
      windowMs: 60 * S,
      kinds: ['infrastructure', 'timeout', 'data', 'application'],
    });
    expect(strict.evaluate(events, 3 * S).has('a')).toBe(true);
  });

  it('judges agents separately and ignores events after now', () => {
    const events = [
      ev('a', 0),
      ev('b', 1 * S),
      ev('a', 2 * S),
      ev('b', 3 * S),
      ev('a', 4 * S),
      ev('b', 90 * S),
    ];
    expect([...policy.evaluate(events, 10 * S).keys()]).toEqual(['a']);
    expect(policy.evaluate(events, 1 * S).size).toBe(0);
  });

  it('starts afresh after a quarantine: failures during or before it do not count again', () => {
    const events = [
      ev('a', 0),
      ev('a', 1 * S),
      ev('a', 2 * S), // tripped: until 302 s
      ev('a', 100 * S), // during the quarantine: ignored
      ev('a', 310 * S),
      ev('a', 320 * S),
    ];
    expect(policy.evaluate(events, 325 * S).size).toBe(0);
    const more = [...events, ev('a', 330 * S)];
    expect(policy.evaluate(more, 331 * S).get('a')).toMatchObject({
      since: 330 * S,
      until: 630 * S,
    });
  });

  it('accepts events in any order and uses defaults', () => {
    const d = new QuarantinePolicy();
    expect([d.failures, d.windowMs, d.periodMs]).toEqual([3, 600 * S, 1800 * S]);
    const events = [ev('a', 5 * S), ev('a', 1 * S), ev('a', 3 * S)];
    expect(d.evaluate(events, 6 * S).get('a')).toMatchObject({ since: 5 * S });
  });

  it('rejects nonsense options', () => {
    expect(() => new QuarantinePolicy({ failures: 0 })).toThrow(/positive integer/);
    expect(() => new QuarantinePolicy({ windowMs: 0 })).toThrow(/positive/);
  });
});

describe('mass-loss guard', () => {
  const ready = { state: 'ready' as const };
  const lost = (since: number) => ({ state: 'lost' as const, stateSince: since });
  const now = 1_000 * S;

  it('holds when more than half of the agents became lost within the window', () => {
    const agents = [lost(now - 5 * S), lost(now - 10 * S), lost(now - 30 * S), ready, ready];
    const v = massLoss(agents, now);
    expect(v).toMatchObject({ hold: true, recentlyLost: 3, total: 5 });
    expect(v.message).toBe(
      "3 of 5 agents (60%) lost within 60 s: rescheduling their attempts is held back (suspect the scheduler's network or NATS)",
    );
    expect(massLossHold(agents, now)).toBe(true);
  });

  it('does not hold at exactly the fraction, for a single loss, or for old losses', () => {
    expect(massLossHold([lost(now), lost(now), ready, ready], now)).toBe(false); // 50% is not more
    expect(massLossHold([lost(now), { state: 'draining' }], now)).toBe(false); // 1 lost < minLost
    expect(massLossHold([lost(now)], now)).toBe(false);
    // Lost long ago: out of the window, and out of the denominator.
    expect(
      massLoss([lost(now - 600 * S), lost(now - 600 * S), lost(now), ready], now),
    ).toMatchObject({
      hold: false,
      recentlyLost: 1,
      total: 2,
    });
  });

  it('is configurable', () => {
    const agents = [lost(now - 100 * S), lost(now - 100 * S), ready, ready, ready];
    expect(massLossHold(agents, now)).toBe(false); // outside the 60 s default window
    expect(massLossHold(agents, now, { windowMs: 120 * S, fraction: 0.3 })).toBe(true);
    expect(massLossHold(agents, now, { windowMs: 120 * S, fraction: 0.3, minLost: 3 })).toBe(false);
    expect(massLossHold([{ state: 'lost' }, { state: 'lost' }, ready], now)).toBe(true); // no stateSince: just now
  });
});
