/**
 * A tiny read-only HTTP file server on 127.0.0.1 (free port) that counts what it serves:
 * GET and HEAD requests per path — the server-side count behind "a file read by many jobs
 * on one agent is downloaded once". Objects live in memory; each has a fixed
 * Last-Modified (so the http store can key it without a checksum) unless `lastModified`
 * is false. `gate` holds every GET until released (to make requests truly concurrent).
 *
 * Test helper only; loopback only (DESIGN §9).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedObject {
  body: Buffer;
  /** Send Last-Modified (default true). */
  lastModified?: boolean;
}

export interface CountingHttpServer {
  /** `http://127.0.0.1:PORT` */
  readonly root: string;
  /** URL of a path ('/x.dat' → root + '/x.dat'). */
  url(p: string): string;
  put(p: string, body: Buffer | string, o?: { lastModified?: boolean }): string;
  /** Completed GETs (200) per path. */
  gets(p: string): number;
  heads(p: string): number;
  /** Hold GETs until `release()` (HEADs are answered at once). */
  hold(): void;
  release(): void;
  /** GETs waiting at the gate now. */
  held(): number;
  close(): Promise<void>;
}

const MODIFIED = new Date('2024-05-01T12:00:00Z').toUTCString();

export async function startCountingHttpServer(): Promise<CountingHttpServer> {
  const objects = new Map<string, ServedObject>();
  const getCount = new Map<string, number>();
  const headCount = new Map<string, number>();
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let waiting = 0;

  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const obj = objects.get(p);
    if (!obj) {
      res.writeHead(404);
      res.end();
      return;
    }
    const headers: Record<string, string> = { 'content-length': String(obj.body.length) };
    if (obj.lastModified !== false) headers['last-modified'] = MODIFIED;
    if (req.method === 'HEAD') {
      headCount.set(p, (headCount.get(p) ?? 0) + 1);
      res.writeHead(200, headers);
      res.end();
      return;
    }
    const send = (): void => {
      getCount.set(p, (getCount.get(p) ?? 0) + 1);
      res.writeHead(200, headers);
      res.end(obj.body);
    };
    if (gate) {
      waiting++;
      void gate.then(() => {
        waiting--;
        send();
      });
    } else {
      send();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    root,
    url: (p) => root + p,
    put(p, body, o = {}) {
      objects.set(p, {
        body: typeof body === 'string' ? Buffer.from(body) : body,
        ...(o.lastModified !== undefined ? { lastModified: o.lastModified } : {}),
      });
      return root + p;
    },
    gets: (p) => getCount.get(p) ?? 0,
    heads: (p) => headCount.get(p) ?? 0,
    hold() {
      gate ??= new Promise<void>((r) => (open = r));
    },
    release() {
      open?.();
      gate = undefined;
      open = undefined;
    },
    held: () => waiting,
    async close() {
      open?.();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
