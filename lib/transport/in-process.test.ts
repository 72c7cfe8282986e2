import { describe, expect, it } from 'vitest';
import { AloftError } from '../errors/index.js';
import { createInProcessTransport, type Message } from './index.js';

/** Resolves after every queued microtask (and the handlers they run) has finished. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('in-process transport', () => {
  it('delivers to literal, `*` and `>` subscribers and not to others', async () => {
    const t = createInProcessTransport();
    const got: Record<string, string[]> = { lit: [], star: [], gt: [], other: [], short: [] };
    t.subscribe('a.b.c', (m) => got['lit']!.push(m.subject));
    t.subscribe('a.*.c', (m) => got['star']!.push(m.subject));
    t.subscribe('a.>', (m) => got['gt']!.push(m.subject));
    t.subscribe('a.b', (m) => got['other']!.push(m.subject));
    t.subscribe('a.*', (m) => got['short']!.push(m.subject));
    t.publish('a.b.c', 1);
    t.publish('a.x.c', 2);
    t.publish('a.b.c.d', 3);
    t.publish('b.b.c', 4);
    await settle();
    expect(got['lit']).toEqual(['a.b.c']);
    expect(got['star']).toEqual(['a.b.c', 'a.x.c']);
    expect(got['gt']).toEqual(['a.b.c', 'a.x.c', 'a.b.c.d']);
    expect(got['other']).toEqual([]);
    expect(got['short']).toEqual([]);
    await t.close();
  });

  it('`>` needs at least one more token', async () => {
    const t = createInProcessTransport();
    const got: string[] = [];
    t.subscribe('a.>', (m) => got.push(m.subject));
    t.publish('a', 1);
    t.publish('a.b', 2);
    await settle();
    expect(got).toEqual(['a.b']);
  });

  it('never runs handlers inside publish, and keeps publish order per subscriber', async () => {
    const t = createInProcessTransport();
    const got: number[] = [];
    t.subscribe<number>('x', (m) => got.push(m.data));
    t.publish('x', 1);
    t.publish('x', 2);
    expect(got).toEqual([]);
    await settle();
    expect(got).toEqual([1, 2]);
  });

  it('gives each subscriber its own copy, taken at publish time', async () => {
    const t = createInProcessTransport();
    const seen: Message<{ n: number[] }>[] = [];
    t.subscribe<{ n: number[] }>('x', (m) => {
      m.data.n.push(99);
      seen.push(m);
    });
    t.subscribe<{ n: number[] }>('x', (m) => seen.push(m));
    const payload = { n: [1] };
    t.publish('x', payload);
    payload.n.push(2);
    await settle();
    expect(payload.n).toEqual([1, 2]);
    expect(seen[0]!.data.n).toEqual([1, 99]);
    expect(seen[1]!.data.n).toEqual([1]);
  });

  it('rejects bad subjects and patterns, and payloads that cannot be cloned', () => {
    const t = createInProcessTransport();
    expect(() => t.publish('a.*', 1)).toThrow(AloftError);
    expect(() => t.publish('a..b', 1)).toThrow(/not a valid subject/);
    expect(() => t.subscribe('a.>.b', () => undefined)).toThrow(/not a valid subscription/);
    expect(() => t.subscribe('a.b*', () => undefined)).toThrow(/not a valid subscription/);
    t.subscribe('f', () => undefined);
    expect(() => t.publish('f', { fn: () => 1 })).toThrow(/not serialisable/);
  });

  it('stops delivering after unsubscribe, even for messages already queued', async () => {
    const t = createInProcessTransport();
    const got: number[] = [];
    const sub = t.subscribe<number>('x', (m) => got.push(m.data));
    t.publish('x', 1);
    sub.unsubscribe();
    t.publish('x', 2);
    await settle();
    expect(got).toEqual([]);
  });

  it('a throwing handler does not disturb other subscribers', async () => {
    const t = createInProcessTransport();
    const got: number[] = [];
    t.subscribe('x', () => {
      throw new Error('boom');
    });
    t.subscribe<number>('x', (m) => got.push(m.data));
    t.publish('x', 7);
    await settle();
    expect(got).toEqual([7]);
  });

  it('request/reply: first reply wins and the reply is a copy', async () => {
    const t = createInProcessTransport();
    const answer = { ok: true, list: [1] };
    t.subscribe<{ q: number }>('svc', (m) => m.reply?.({ ...answer, q: m.data.q }));
    t.subscribe('svc', (m) => m.reply?.('second'));
    const r = await t.request<{ ok: boolean; q: number; list: number[] }>(
      'svc',
      { q: 5 },
      { timeoutMs: 1000 },
    );
    expect(r).toEqual({ ok: true, q: 5, list: [1] });
    r.list.push(2);
    expect(answer.list).toEqual([1]);
  });

  it('published messages carry no reply function', async () => {
    const t = createInProcessTransport();
    let reply: unknown = 'unset';
    t.subscribe('x', (m) => (reply = m.reply));
    t.publish('x', 1);
    await settle();
    expect(reply).toBeUndefined();
  });

  it('request without subscribers → UNAVAILABLE', async () => {
    const t = createInProcessTransport();
    await expect(t.request('nobody', 1, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('request without reply → DEADLINE_EXCEEDED', async () => {
    const t = createInProcessTransport();
    t.subscribe('mute', () => undefined);
    await expect(t.request('mute', 1, { timeoutMs: 20 })).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
  });

  it('request aborted → CANCELLED, before or during the wait', async () => {
    const t = createInProcessTransport();
    t.subscribe('mute', () => undefined);
    const before = new AbortController();
    before.abort();
    await expect(
      t.request('mute', 1, { timeoutMs: 10_000, signal: before.signal }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    const during = new AbortController();
    const p = t.request('mute', 1, { timeoutMs: 10_000, signal: during.signal });
    await settle();
    during.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('close fails pending requests and refuses further use', async () => {
    const t = createInProcessTransport();
    t.subscribe('mute', () => undefined);
    const p = t.request('mute', 1, { timeoutMs: 10_000 });
    await t.close();
    await expect(p).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(() => t.publish('x', 1)).toThrow(/closed/);
    await expect(t.request('x', 1, { timeoutMs: 10 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});
