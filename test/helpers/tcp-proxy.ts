/**
 * A loopback TCP proxy for fault tests: a listener on 127.0.0.1 (free port) forwarding every
 * connection to 127.0.0.1:<targetPort> (e.g. a nats-server), able to partition the link.
 *
 * - `cut()` is a real partition, not a polite close: bytes stop flowing in both directions
 *   (whatever arrives is read and dropped, as a dead link drops packets), existing
 *   connections are held open, a close on one side is not passed to the other, and new
 *   connections are accepted but never connected onward. A client behind it sees silence:
 *   it notices only by its own timeouts (NATS: ping / connect timeout), like on a dead link.
 * - `restore()` drops every connection held during the cut (with a TCP reset, as a peer
 *   answers a connection it no longer knows); the client reconnects through the proxy,
 *   which forwards again. Connections accepted after the restore are forwarded as usual.
 * - `close()` stops listening and destroys every connection.
 *
 * Test helper only; loopback only (the network rule of DESIGN §9).
 */
import net from 'node:net';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** `nats://127.0.0.1:<port>`: the address to give a NATS client behind the proxy. */
  readonly url: string;
  /** True between cut() and restore(). */
  readonly isCut: boolean;
  /** Connections accepted so far (a reconnect through the proxy adds one). */
  accepted(): number;
  /** Connections open now (forwarded or held). */
  open(): number;
  /** Partition: forward nothing, hold every connection, accept new ones without forwarding. */
  cut(): void;
  /** Heal: reset every connection held during the cut; new connections are forwarded. */
  restore(): void;
  /** Stop listening and destroy every connection. Idempotent. */
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  /** Undefined while held without ever being connected onward (accepted during a cut). */
  upstream: net.Socket | undefined;
  /** Forwarding bytes (false once cut: the pair is held until restore). */
  live: boolean;
}

/** Reset (RST) rather than FIN when the platform can; either way the peer sees the end. */
function drop(s: net.Socket | undefined): void {
  if (!s || s.destroyed) return;
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s.destroy();
}

/** Start a proxy to 127.0.0.1:targetPort; stop it with close(). */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let cut = false;
  let accepted = 0;
  let closed = false;

  /** Copy src → dst while the pair is live; while cut, read and drop (a dead link). */
  function forward(p: Pair, src: net.Socket, dst: () => net.Socket | undefined): void {
    src.on('data', (chunk: Buffer) => {
      const d = dst();
      if (!p.live || !d || d.destroyed) return;
      if (!d.write(chunk)) {
        src.pause();
        d.once('drain', () => src.resume());
      }
    });
  }

  /** One side ended: pass it on while live; while held, the other side learns nothing. */
  function onEnd(p: Pair): void {
    if (!p.live) return;
    p.live = false;
    pairs.delete(p);
    p.client.destroy();
    p.upstream?.destroy();
  }

  function connectOnward(p: Pair): void {
    const up = net.connect({ host: '127.0.0.1', port: targetPort });
    p.upstream = up;
    up.setNoDelay(true);
    forward(p, up, () => p.client);
    forward(p, p.client, () => p.upstream);
    up.on('error', () => undefined);
    up.on('close', () => onEnd(p));
    p.client.on('close', () => onEnd(p));
  }

  const server = net.createServer((client) => {
    accepted++;
    client.setNoDelay(true);
    client.on('error', () => undefined);
    const p: Pair = { client, upstream: undefined, live: !cut };
    pairs.add(p);
    if (cut) {
      // Accepted, never forwarded: read and drop until restore() resets it.
      client.on('data', () => undefined);
      client.on('close', () => {
        if (!p.live) return;
        pairs.delete(p);
      });
      return;
    }
    connectOnward(p);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    get isCut() {
      return cut;
    },
    accepted: () => accepted,
    open: () => pairs.size,
    cut() {
      if (cut || closed) return;
      cut = true;
      for (const p of pairs) p.live = false;
    },
    restore() {
      if (!cut) return;
      cut = false;
      // Everything open now was held through the cut: drop it.
      for (const p of [...pairs]) {
        pairs.delete(p);
        drop(p.client);
        drop(p.upstream);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const p of [...pairs]) {
        p.live = false;
        drop(p.client);
        drop(p.upstream);
      }
      pairs.clear();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
