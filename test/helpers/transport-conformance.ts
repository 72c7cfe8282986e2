/**
 * The Transport conformance suite: what every implementation of `lib/transport`'s
 * Transport must do, written once and run against the in-process transport and against
 * NATS on a real nats-server. `settle()` must resolve once every message published so far
 * has been handled (in-process: a macrotask; NATS: a flush round trip).
 */
import { describe, expect, it } from 'vitest';
import { AloftError } from '../../lib/errors/index.js';
import type { Message, Transport } from '../../lib/transport/index.js';

export interface TransportUnderTest {
  t: Transport;
  settle(): Promise<void>;
}

export function transportConformance(name: string, make: () => Promise<TransportUnderTest>): void {
  describe(`Transport conformance: ${name}`, () => {
    it('delivers to literal, `*` and `>` subscribers and not to others', async () => {
      const { t, settle } = await make();
      const got: Record<string, string[]> = { lit: [], star: [], gt: [], other: [], short: [] };
      t.subscribe('a.b.c', (m) => got['lit']!.push(m.subject));
      t.subscribe('a.*.c', (m) => got['star']!.push(m.subject));
      t.subscribe('a.>', (m) => got['gt']!.push(m.subject));
      t.subscribe('a.b', (m) => got['other']!.push(m.subject));
      t.subscribe('a.*', (m) => got['short']!.push(m.subject));
      await settle();
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
      const { t, settle } = await make();
      const got: string[] = [];
      t.subscribe('a.>', (m) => got.push(m.subject));
      await settle();
      t.publish('a', 1);
      t.publish('a.b', 2);
      await settle();
      expect(got).toEqual(['a.b']);
      await t.close();
    });

    it('never runs handlers inside publish, and keeps publish order per subscriber', async () => {
      const { t, settle } = await make();
      const got: number[] = [];
      t.subscribe<number>('x', (m) => got.push(m.data));
      await settle();
      for (let i = 1; i <= 100; i++) t.publish('x', i);
      expect(got).toEqual([]);
      await settle();
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      await t.close();
    });

    it('gives each subscriber its own copy, taken at publish time', async () => {
      const { t, settle } = await make();
      // Order across different subscriptions is not promised (NATS may interleave them).
      const seen: Record<string, Message<{ n: number[] }>[]> = { mutator: [], reader: [] };
      t.subscribe<{ n: number[] }>('x', (m) => {
        m.data.n.push(99);
        seen['mutator']!.push(m);
      });
      t.subscribe<{ n: number[] }>('x', (m) => seen['reader']!.push(m));
      await settle();
      const payload = { n: [1] };
      t.publish('x', payload);
      payload.n.push(2);
      await settle();
      expect(payload.n).toEqual([1, 2]);
      expect(seen['mutator']!.map((m) => m.data.n)).toEqual([[1, 99]]);
      expect(seen['reader']!.map((m) => m.data.n)).toEqual([[1]]);
      await t.close();
    });

    it('rejects bad subjects, patterns and headers, and payloads it cannot send', async () => {
      const { t } = await make();
      expect(() => t.publish('a.*', 1)).toThrow(AloftError);
      expect(() => t.publish('a..b', 1)).toThrow(/not a valid subject/);
      expect(() => t.subscribe('a.>.b', () => undefined)).toThrow(/not a valid subscription/);
      expect(() => t.subscribe('a.b*', () => undefined)).toThrow(/not a valid subscription/);
      t.subscribe('f', () => undefined);
      expect(() => t.publish('f', { fn: () => 1 })).toThrow(/not serialisable/);
      expect(() => t.publish('f', 1, { headers: { 'bad name': 'x' } })).toThrow(
        /not a valid header name/,
      );
      expect(() => t.publish('f', 1, { headers: { ok: 'two\r\nlines' } })).toThrow(/single line/);
      await t.close();
    });

    it('stops delivering after unsubscribe, even for messages already in flight', async () => {
      const { t, settle } = await make();
      const got: number[] = [];
      const sub = t.subscribe<number>('x', (m) => got.push(m.data));
      await settle();
      t.publish('x', 1);
      sub.unsubscribe();
      sub.unsubscribe();
      t.publish('x', 2);
      await settle();
      expect(got).toEqual([]);
      await t.close();
    });

    it('a throwing or rejecting handler does not disturb other subscribers', async () => {
      const { t, settle } = await make();
      const got: number[] = [];
      t.subscribe('x', () => {
        throw new Error('boom');
      });
      t.subscribe('x', () => Promise.reject(new Error('async boom')));
      t.subscribe<number>('x', (m) => got.push(m.data));
      await settle();
      t.publish('x', 7);
      t.publish('x', 8);
      await settle();
      expect(got).toEqual([7, 8]);
      await t.close();
    });

    it('carries headers (W3C traceparent) on publish and request, and none when absent', async () => {
      const { t, settle } = await make();
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const seen: Message[] = [];
      t.subscribe('h.*', (m) => {
        seen.push(m);
        m.reply?.({ echoed: m.headers?.['traceparent'] ?? null });
      });
      await settle();
      t.publish('h.one', 1, { headers: { traceparent, 'aloft-run': 'r1' } });
      t.publish('h.two', 2);
      t.publish('h.three', 3, { headers: {} });
      await settle();
      expect(seen.map((m) => m.headers)).toEqual([
        { traceparent, 'aloft-run': 'r1' },
        undefined,
        undefined,
      ]);
      const r = await t.request('h.req', 0, { timeoutMs: 5000, headers: { traceparent } });
      expect(r).toEqual({ echoed: traceparent });
      await t.close();
    });

    it('request/reply: first reply wins and the reply is a copy', async () => {
      const { t, settle } = await make();
      const answer = { ok: true, list: [1] };
      t.subscribe<{ q: number }>('svc', (m) => m.reply?.({ ...answer, q: m.data.q }));
      // Later than the first on purpose: NATS does not order delivery across subscriptions.
      t.subscribe('svc', (m) => setTimeout(() => m.reply?.('second'), 50));
      await settle();
      const r = await t.request<{ ok: boolean; q: number; list: number[] }>(
        'svc',
        { q: 5 },
        { timeoutMs: 5000 },
      );
      expect(r).toEqual({ ok: true, q: 5, list: [1] });
      r.list.push(2);
      expect(answer.list).toEqual([1]);
      await t.close();
    });

    it('published messages carry no reply function', async () => {
      const { t, settle } = await make();
      let reply: unknown = 'unset';
      t.subscribe('x', (m) => (reply = m.reply));
      await settle();
      t.publish('x', 1);
      await settle();
      expect(reply).toBeUndefined();
      await t.close();
    });

    it('request without subscribers → UNAVAILABLE', async () => {
      const { t } = await make();
      await expect(t.request('nobody', 1, { timeoutMs: 5000 })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
      await t.close();
    });

    it('request without reply → DEADLINE_EXCEEDED', async () => {
      const { t, settle } = await make();
      t.subscribe('mute', () => undefined);
      await settle();
      await expect(t.request('mute', 1, { timeoutMs: 50 })).rejects.toMatchObject({
        code: 'DEADLINE_EXCEEDED',
      });
      await t.close();
    });

    it('request aborted → CANCELLED, before or during the wait', async () => {
      const { t, settle } = await make();
      t.subscribe('mute', () => undefined);
      await settle();
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
      await t.close();
    });

    it('close fails pending requests and refuses further use', async () => {
      const { t, settle } = await make();
      t.subscribe('mute', () => undefined);
      await settle();
      // Settled into a value at once: close may take I/O time, and the rejection must not
      // count as unhandled meanwhile.
      const outcome = t.request('mute', 1, { timeoutMs: 10_000 }).then(
        () => 'resolved',
        (e: unknown) => e,
      );
      await t.close();
      expect(await outcome).toMatchObject({ code: 'UNAVAILABLE' });
      expect(() => t.publish('x', 1)).toThrow(/closed/);
      await expect(t.request('x', 1, { timeoutMs: 10 })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
      await t.close();
    });
  });
}
