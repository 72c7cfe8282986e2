/**
 * The fault tests' TCP proxy against a real echo server on loopback: it forwards, a cut
 * passes no byte either way while holding the connections open (and accepts new ones without
 * forwarding them), and a restore resets what was held so clients reconnect and are
 * forwarded again.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  for (let waited = 0; !test(); waited += 10) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Client {
  socket: net.Socket;
  received: () => string;
  closed: () => boolean;
}

async function dial(port: number): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = '';
  let closed = false;
  socket.setEncoding('utf8').on('data', (d: string) => (received += d));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise<void>((r, j) => {
    socket.once('connect', () => r());
    socket.once('error', j);
  });
  return { socket, received: () => received, closed: () => closed };
}

describe('tcp proxy', () => {
  let echo: net.Server;
  /** Bytes the echo server received, and its sockets (to close one from the server side). */
  let heard = '';
  const serverSockets: net.Socket[] = [];
  let proxy: TcpProxy;

  beforeAll(async () => {
    echo = net.createServer((s) => {
      serverSockets.push(s);
      s.on('error', () => undefined);
      s.setEncoding('utf8').on('data', (d: string) => {
        heard += d;
        s.write(d);
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    proxy = await startTcpProxy((echo.address() as net.AddressInfo).port);
  });

  afterAll(async () => {
    await proxy?.close();
    for (const s of serverSockets) s.destroy();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  it('forwards, partitions for real, and lets clients reconnect after the restore', async () => {
    expect(proxy.url).toBe(`nats://127.0.0.1:${proxy.port}`);
    const a = await dial(proxy.port);
    a.socket.write('hello');
    await until('the echo', () => a.received() === 'hello');
    expect(heard).toBe('hello');

    proxy.cut();
    expect(proxy.isCut).toBe(true);
    a.socket.write('lost');
    // Accepted during the cut, but never connected onward.
    const serversBefore = serverSockets.length;
    const b = await dial(proxy.port);
    b.socket.write('also lost');
    expect(proxy.accepted()).toBe(2);
    // The server side closing during the cut is not passed on to the client.
    serverSockets[0]!.destroy();
    await sleep(300);
    expect(heard).toBe('hello');
    expect(a.received()).toBe('hello');
    expect(b.received()).toBe('');
    expect(serverSockets).toHaveLength(serversBefore);
    expect(a.closed()).toBe(false);
    expect(b.closed()).toBe(false);
    expect(proxy.open()).toBe(2);

    proxy.restore();
    expect(proxy.isCut).toBe(false);
    await until('the held connections to drop', () => a.closed() && b.closed());
    expect(proxy.open()).toBe(0);
    // A reconnect is forwarded again; nothing sent during the cut ever arrived.
    const c = await dial(proxy.port);
    c.socket.write('again');
    await until('the echo after the restore', () => c.received() === 'again');
    expect(heard).toBe('helloagain');
    expect(proxy.accepted()).toBe(3);

    // A close passes through while not cut.
    const before = serverSockets.length;
    c.socket.end();
    await until('the close to reach the server', () => serverSockets[before - 1]!.destroyed);
  });
});
