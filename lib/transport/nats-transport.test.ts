/**
 * NATS transport specifics against a real nats-server with a small max_payload (4 KB):
 * size limits and chunking, codecs and undecodable messages, inbox prefix, status, option
 * validation and connect failures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { connect } from '@nats-io/transport-node';
import {
  natsServerAvailable,
  startNatsServer,
  type NatsServer,
} from '../../test/helpers/nats-server.js';
import { AloftError } from '../errors/index.js';
import {
  createNatsTransport,
  jsonCodec,
  newTraceparent,
  parseTraceparent,
  replySubject,
  type Codec,
  type Message,
  type NatsTransport,
} from './index.js';
import { ChunkAssembler, splitChunks } from './nats-chunks.js';

const MAX = 4096;

describe.skipIf(!natsServerAvailable)('nats transport (max_payload 4 KB)', () => {
  let server: NatsServer;
  const open: NatsTransport[] = [];
  const connectT = async (extra: Partial<Parameters<typeof createNatsTransport>[0]> = {}) => {
    const t = await createNatsTransport({ servers: server.url, name: 'test', ...extra });
    open.push(t);
    return t;
  };

  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: MAX });
  });
  afterAll(async () => {
    for (const t of open) await t.close();
    await server?.dispose();
  });

  it("reads the server's max_payload and refuses a bigger publish with RESOURCE_EXHAUSTED", async () => {
    const t = await connectT();
    expect(t.maxPayload()).toBe(MAX);
    const big = { blob: 'x'.repeat(100_000) };
    let err: unknown;
    try {
      t.publish('big.one', big);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AloftError);
    expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', retryable: false });
    expect((err as Error).message).toMatch(
      /big\.one is 100\d{3} bytes, over the max_payload of 4096/,
    );
    await expect(t.request('big.one', big, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
    });
    // A client-side limit below the server's applies too.
    const small = await connectT({ maxPayload: 100 });
    expect(small.maxPayload()).toBe(100);
    expect(() => small.publish('s', 'y'.repeat(200))).toThrow(/over the max_payload of 100/);
  });

  it('publishChunked sends a 100 KB message as chunks that subscribers reassemble', async () => {
    const pub = await connectT({ name: 'pub' });
    const sub = await connectT({ name: 'sub' });
    const got: Message<{ blob: string; n: number }>[] = [];
    const raw: number[] = [];
    sub.subscribe<{ blob: string; n: number }>('rec.*', (m) => got.push(m));
    // A raw client's view: the NATS messages that actually crossed the wire.
    const counter = await connect({ servers: server.url, name: 'raw-counter' });
    counter.subscribe('rec.*', {
      callback: (_e, m) => {
        raw.push(m.data.length);
      },
    });
    await sub.flush();
    await counter.flush();
    const blob = Array.from({ length: 100_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(
      '',
    );
    const traceparent = newTraceparent();
    pub.publishChunked('rec.a', { blob, n: 1 }, { headers: { traceparent } });
    pub.publishChunked('rec.a', { blob: 'small', n: 2 });
    await pub.flush();
    await sub.flush();
    await counter.flush();
    await counter.close();
    expect(got).toHaveLength(2);
    expect(got[0]!.data.blob).toBe(blob);
    expect(got[0]!.data.n).toBe(1);
    expect(got[0]!.headers).toEqual({ traceparent });
    expect(parseTraceparent(got[0]!.headers?.['traceparent'])).toBeDefined();
    expect(got[1]!.data).toEqual({ blob: 'small', n: 2 });
    expect(got[1]!.headers).toBeUndefined();
    // Chunk messages (no whole-message decode) plus the small one.
    expect(raw.length).toBeGreaterThanOrEqual(Math.ceil(100_000 / MAX) + 1);
    expect(Math.max(...raw)).toBeLessThanOrEqual(MAX);
  });

  it('chunk reassembly is bounded: a message with a missing chunk is dropped, not delivered', () => {
    const a = new ChunkAssembler({ timeoutMs: 1000, maxPendingMessages: 2 });
    const dropped: string[] = [];
    a.onDropped = (id, reason) => dropped.push(`${id}: ${reason}`);
    const parts = splitChunks(new TextEncoder().encode('abcdefghij'), 3);
    expect(parts).toHaveLength(4);
    expect(a.add('m1', '1/4', parts[0]!, 0)).toEqual({ kind: 'pending' });
    expect(a.add('m1', '3/4', parts[2]!, 10)).toEqual({ kind: 'pending' });
    expect(a.add('m1', '3/4', parts[2]!, 10)).toEqual({ kind: 'pending' }); // duplicate
    expect(a.add('m1', '4/4', parts[3]!, 10)).toEqual({ kind: 'pending' });
    const done = a.add('m1', '2/4', parts[1]!, 20);
    expect(done.kind).toBe('complete');
    expect(new TextDecoder().decode((done as { bytes: Uint8Array }).bytes)).toBe('abcdefghij');
    expect(a.add('m2', '1/2', parts[0]!, 0).kind).toBe('pending');
    expect(a.add('m3', '0/2', parts[0]!, 0).kind).toBe('invalid');
    expect(a.add('m3', '3/2', parts[0]!, 0).kind).toBe('invalid');
    // m2 is older than the timeout when m4 arrives.
    expect(a.add('m4', '1/2', parts[0]!, 5000).kind).toBe('pending');
    expect(dropped).toEqual(['m2: chunks missing after the reassembly timeout']);
    a.add('m5', '1/2', parts[0]!, 5001);
    a.add('m6', '1/2', parts[0]!, 5002);
    expect(dropped[1]).toMatch(/^m4: too many/);
  });

  it('an undecodable message is dropped and logged without its payload; the subscriber lives on', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const t = await connectT({ logger });
    const raw = await connectT({
      name: 'raw',
      codec: { encode: (_s, d) => new TextEncoder().encode(String(d)), decode: () => null },
    });
    const got: unknown[] = [];
    t.subscribe('in', (m) => got.push(m.data));
    await t.flush();
    raw.publish('in', '{not json SECRET-PAYLOAD');
    raw.publish('in', '{"ok":1}');
    await raw.flush();
    await t.flush();
    expect(got).toEqual([{ ok: 1 }]);
    const dropped = lines.filter((l) => l.includes('undecodable message dropped'));
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toContain('"subject":"in"');
    expect(dropped[0]).not.toContain('SECRET-PAYLOAD');
  });

  it('uses an injected codec both ways, replies under replySubject(subject)', async () => {
    const seen: string[] = [];
    const tagged: Codec = {
      encode: (s, d) => {
        seen.push(`enc ${s}`);
        return jsonCodec.encode(s, d);
      },
      decode: (s, b) => {
        seen.push(`dec ${s}`);
        return jsonCodec.decode(s, b);
      },
    };
    const t = await connectT({ codec: tagged });
    t.subscribe<number>('svc.double', (m) => m.reply?.(m.data * 2));
    await t.flush();
    expect(await t.request('svc.double', 21, { timeoutMs: 5000 })).toBe(42);
    expect(seen).toEqual([
      'enc svc.double',
      'dec svc.double',
      `enc ${replySubject('svc.double')}`,
      `dec ${replySubject('svc.double')}`,
    ]);
  });

  it('uses the configured inbox prefix for request replies', async () => {
    const requester = await connectT({ name: 'agent-x', inboxPrefix: '_INBOX.agent-x' });
    const responder = await connectT({ name: 'responder' });
    let replyTo = '';
    const spy = await connectT({
      name: 'spy',
      codec: { encode: () => new Uint8Array(), decode: () => 0 },
    });
    spy.subscribe('_INBOX.agent-x.>', (m) => (replyTo = m.subject));
    responder.subscribe('q', (m) => m.reply?.('pong'));
    await responder.flush();
    await spy.flush();
    expect(await requester.request('q', 'ping', { timeoutMs: 5000 })).toBe('pong');
    await spy.flush();
    expect(replyTo).toMatch(/^_INBOX\.agent-x\./);
  });

  it('reports every bad option at once, without echoing secrets', async () => {
    let err: AloftError | undefined;
    try {
      await createNatsTransport({
        servers: ['nats://ok:4222', 'not a url'],
        name: '',
        pass: 'hunter2',
        nkeySeed: 'SUNOTAREALSEED',
        token: 'also-a-token',
        inboxPrefix: '_INBOX.*',
        maxPayload: -1,
        reconnectWaitMs: 1.5,
      });
    } catch (e) {
      err = e as AloftError;
    }
    expect(err?.code).toBe('INVALID_ARGUMENT');
    const wheres = err!.problems.map((p) => p.where);
    expect(wheres).toEqual([
      "nats server 'not a url'",
      'nats name',
      'nats pass',
      'nats credentials',
      'nats nkey seed',
      "nats inbox prefix '_INBOX.*'",
      'nats maxPayload',
      'nats reconnectWaitMs',
    ]);
    expect(JSON.stringify(err!.toJSON())).not.toContain('SUNOTAREALSEED');
    expect(JSON.stringify(err!.toJSON())).not.toContain('hunter2');
  });

  it('connect to a port nobody listens on → UNAVAILABLE (retryable); abort → CANCELLED', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await expect(
      createNatsTransport({ servers: `nats://127.0.0.1:${port}`, name: 'nobody' }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    const ac = new AbortController();
    const p = createNatsTransport({
      servers: `nats://127.0.0.1:${port}`,
      name: 'waiting',
      waitOnFirstConnect: true,
      reconnectWaitMs: 50,
      reconnectJitterMs: 0,
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 200);
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
