/**
 * Reconnect against a real nats-server that is restarted on the same port: subscriptions
 * resume, a long outage (longer than the client's default give-up) is survived, publishes
 * made while disconnected go out after the reconnect, requests fail fast meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  natsServerAvailable,
  startNatsServer,
  type NatsServer,
} from '../../test/helpers/nats-server.js';
import { createNatsTransport, type NatsStatus, type NatsTransport } from './index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nextStatus(t: NatsTransport, type: NatsStatus['type']): Promise<NatsStatus> {
  return new Promise((resolve) => {
    const off = t.onStatus((s) => {
      if (s.type === type) {
        off();
        resolve(s);
      }
    });
  });
}

describe.skipIf(!natsServerAvailable)('nats transport reconnect', () => {
  let server: NatsServer;
  const open: NatsTransport[] = [];
  const connectT = async (name: string): Promise<NatsTransport> => {
    // Short waits keep the test quick; the client's default attempt limit (10) would be
    // spent within ~1.5 s at this pace, so surviving a 3 s outage proves "forever".
    const t = await createNatsTransport({
      servers: server.url,
      name,
      reconnectWaitMs: 100,
      reconnectJitterMs: 50,
    });
    open.push(t);
    return t;
  };

  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    for (const t of open) await t.close();
    await server?.dispose();
  });

  it('restarting nats-server mid-stream: clients reconnect on the same port and subscriptions resume', async () => {
    const pub = await connectT('pub');
    const sub = await connectT('sub');
    const got: number[] = [];
    const statuses: string[] = [];
    sub.onStatus((s) => statuses.push(s.type));
    sub.subscribe<number>('stream', (m) => got.push(m.data));
    await sub.flush();
    for (let i = 0; i < 50; i++) pub.publish('stream', i);
    await pub.flush();
    await sub.flush();
    expect(got).toHaveLength(50);

    const port = server.port;
    const subBack = nextStatus(sub, 'reconnect');
    const pubBack = nextStatus(pub, 'reconnect');
    const subDown = nextStatus(sub, 'disconnect');
    await server.restart();
    expect(server.port).toBe(port);
    await subDown;
    expect(sub.isConnected()).toBe(false);
    await Promise.all([subBack, pubBack]);
    expect(sub.isConnected()).toBe(true);
    expect(statuses).toContain('disconnect');
    expect(statuses).toContain('reconnect');

    for (let i = 100; i < 150; i++) pub.publish('stream', i);
    await pub.flush();
    await sub.flush();
    expect(got.filter((n) => n >= 100)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
  });

  it('survives a server down for 3 s (longer than the default give-up) and requests work again', async () => {
    const client = await connectT('client');
    const service = await connectT('service');
    service.subscribe<number>('svc.inc', (m) => m.reply?.(m.data + 1));
    await service.flush();
    expect(await client.request('svc.inc', 1, { timeoutMs: 5000 })).toBe(2);

    const reconnecting: number[] = [];
    client.onStatus((s) => {
      if (s.type === 'reconnecting') reconnecting.push(1);
    });
    const clientBack = nextStatus(client, 'reconnect');
    const serviceBack = nextStatus(service, 'reconnect');
    const down = nextStatus(client, 'disconnect');
    await server.kill();
    await down;
    // While disconnected a request fails fast, and says why.
    await expect(client.request('svc.inc', 1, { timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    await sleep(3000);
    expect(client.isConnected()).toBe(false);
    await server.restart();
    await Promise.all([clientBack, serviceBack]);
    // More dial attempts than the client's default maxReconnectAttempts (10).
    expect(reconnecting.length).toBeGreaterThan(10);
    expect(await client.request('svc.inc', 41, { timeoutMs: 5000 })).toBe(42);
  });

  it('publishes made while disconnected are sent, in order, after the reconnect', async () => {
    const t = await connectT('buffering');
    const got: number[] = [];
    t.subscribe<number>('buffered', (m) => got.push(m.data));
    await t.flush();
    const down = nextStatus(t, 'disconnect');
    const back = nextStatus(t, 'reconnect');
    await server.stop();
    await down;
    for (let i = 0; i < 20; i++) t.publish('buffered', i);
    expect(got).toEqual([]);
    await server.restart();
    await back;
    await t.flush();
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('a full reconnect buffer refuses further publishes with UNAVAILABLE', async () => {
    const t = await createNatsTransport({
      servers: server.url,
      name: 'tiny-buffer',
      reconnectWaitMs: 100,
      reconnectJitterMs: 0,
      reconnectBufferBytes: 64,
    });
    open.push(t);
    const down = nextStatus(t, 'disconnect');
    const back = nextStatus(t, 'reconnect');
    await server.stop();
    await down;
    t.publish('x', 'a'.repeat(30));
    expect(() => t.publish('x', 'b'.repeat(60))).toThrow(/reconnect buffer .* is full/);
    await server.restart();
    await back;
  });
});
