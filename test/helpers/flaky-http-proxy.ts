/**
 * A fault-injecting HTTP front for store tests (issue 4: "a store that fails or stalls
 * mid-transfer is retried"): a reverse proxy on 127.0.0.1 (free port) forwarding every
 * request to one upstream (e.g. the s3rver of test/helpers/s3-server.ts), which on command
 * does one of these to the next N matching requests:
 *   status         answer it with an HTTP error (S3 XML error body with `code` and
 *                  `message`) without forwarding it (the request body is read and dropped
 *                  first);
 *   cut            forward it, pass the response headers and `afterBytes` bytes of the
 *                  response body, then destroy the client's connection (a mid-body cut);
 *   stall          the same, but stop sending after `afterBytes` bytes — for `ms`, then go
 *                  on, or forever (until the client gives up or the proxy closes);
 *   cut-request    forward `afterBytes` bytes of the REQUEST body, then destroy both
 *                  connections (an upload cut mid-way);
 *   stall-request  forward `afterBytes` bytes of the request body, then hold the rest
 *                  forever (an upload that stops moving);
 *   barrier        forward it, but hold the response until `count` matching requests are
 *                  held together, then release them all — proof that the client really
 *                  had that many requests in flight at once (a client that sends them one
 *                  by one never passes the barrier and fails by its own timeout).
 * Requests match by method and by a path test (a substring, or a RegExp, of the request
 * target: path plus query). Every request is logged with the fault applied to it.
 *
 * Test helper only; loopback only (DESIGN §9).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; code?: string; message?: string }
  | { kind: 'cut'; afterBytes: number }
  | { kind: 'stall'; afterBytes: number; ms?: number }
  | { kind: 'cut-request'; afterBytes: number }
  | { kind: 'stall-request'; afterBytes: number }
  | { kind: 'barrier'; count: number };

export interface FaultMatch {
  method?: string;
  /** Substring of, or pattern tested against, the request target (path and query). */
  path?: string | RegExp;
}

export interface ProxiedRequest {
  method: string;
  /** The request target (path and query) as received. */
  target: string;
  fault?: Fault['kind'];
  /** Status sent to the client (undefined when the connection was cut before headers). */
  status?: number;
}

export interface FlakyHttpProxy {
  /** `http://127.0.0.1:PORT`: use as the S3 endpoint. */
  readonly url: string;
  readonly port: number;
  /** Apply `fault` to the next `times` (default 1) requests that match. Rules queue up. */
  inject(fault: Fault, options?: { times?: number; match?: FaultMatch }): void;
  /** Drop every pending rule (held and stalled responses are left as they are). */
  clear(): void;
  /** Rules not yet used up. */
  pending(): number;
  /** Every request so far (optionally only those matching). */
  requests(match?: FaultMatch): ProxiedRequest[];
  /** Stop listening and destroy every connection (stalled ones included). Idempotent. */
  close(): Promise<void>;
}

interface Rule {
  fault: Fault;
  left: number;
  match: FaultMatch;
}

const S3_CODES: Record<number, string> = {
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  408: 'RequestTimeout',
  429: 'SlowDown',
  500: 'InternalError',
  502: 'BadGateway',
  503: 'SlowDown',
  504: 'GatewayTimeout',
};

function matches(m: FaultMatch, method: string, target: string): boolean {
  if (m.method !== undefined && m.method.toUpperCase() !== method) return false;
  if (m.path === undefined) return true;
  return typeof m.path === 'string' ? target.includes(m.path) : m.path.test(target);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);

function forwardHeaders(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** Start a proxy in front of `upstream` (`http://127.0.0.1:PORT`). */
export async function startFlakyHttpProxy(upstream: string): Promise<FlakyHttpProxy> {
  const up = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const rules: Rule[] = [];
  const log: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const barriers = new Map<Rule, (() => void)[]>();

  function take(method: string, target: string): Rule | undefined {
    const rule = rules.find((r) => r.left > 0 && matches(r.match, method, target));
    if (!rule) return undefined;
    rule.left--;
    // A barrier rule stays known until its group is complete, even when used up.
    if (rule.left === 0 && rule.fault.kind !== 'barrier') rules.splice(rules.indexOf(rule), 1);
    return rule;
  }

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const rule = take(method, target);
    const fault = rule?.fault;
    const entry: ProxiedRequest = { method, target, ...(fault ? { fault: fault.kind } : {}) };
    log.push(entry);

    if (fault?.kind === 'status') {
      const code = fault.code ?? S3_CODES[fault.status] ?? 'InternalError';
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<Error><Code>${code}</Code><Message>${fault.message ?? 'injected by the test proxy'}` +
        '</Message></Error>';
      req.resume();
      req.on('end', () => {
        entry.status = fault.status;
        res.writeHead(fault.status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      });
      return;
    }

    const upReq = http.request(
      {
        host: up.hostname,
        port: up.port,
        method,
        path: target,
        headers: forwardHeaders(req.headers),
        agent,
      },
      (upRes) => {
        const send = (): void => {
          entry.status = upRes.statusCode ?? 502;
          res.writeHead(entry.status, forwardHeaders(upRes.headers));
          if (fault?.kind !== 'cut' && fault?.kind !== 'stall') {
            upRes.pipe(res);
            return;
          }
          let sent = 0;
          let stalled = false;
          upRes.on('data', (chunk: Buffer) => {
            if (stalled) return;
            const room = fault.afterBytes - sent;
            if (chunk.length <= room) {
              sent += chunk.length;
              res.write(chunk);
              return;
            }
            const head = chunk.subarray(0, Math.max(0, room));
            const rest = chunk.subarray(Math.max(0, room));
            sent += head.length;
            stalled = true;
            if (fault.kind === 'cut') {
              res.write(head, () => res.socket?.destroy());
              upRes.destroy();
              return;
            }
            res.write(head);
            upRes.pause();
            if (fault.ms !== undefined) {
              setTimeout(() => {
                if (res.destroyed) return;
                res.write(rest);
                upRes.unpipe();
                upRes.pipe(res);
                upRes.resume();
              }, fault.ms);
            }
          });
          upRes.on('end', () => {
            if (!stalled) res.end();
          });
        };
        if (fault?.kind === 'barrier' && rule) {
          const held = barriers.get(rule) ?? [];
          barriers.set(rule, held);
          held.push(send);
          if (held.length >= fault.count) {
            barriers.delete(rule);
            rules.splice(rules.indexOf(rule), 1);
            for (const go of held) go();
          }
          return;
        }
        send();
      },
    );
    upReq.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });

    if (fault?.kind === 'cut-request' || fault?.kind === 'stall-request') {
      let passed = 0;
      let stopped = false;
      req.on('data', (chunk: Buffer) => {
        if (stopped) return;
        const room = fault.afterBytes - passed;
        if (chunk.length <= room) {
          passed += chunk.length;
          upReq.write(chunk);
          return;
        }
        stopped = true;
        upReq.write(chunk.subarray(0, Math.max(0, room)), () => {
          if (fault.kind === 'cut-request') {
            upReq.destroy();
            req.socket.destroy();
          }
        });
        if (fault.kind === 'stall-request') req.pause();
      });
      req.on('end', () => {
        if (!stopped) upReq.end();
      });
      return;
    }
    req.pipe(upReq);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    inject(fault, o = {}) {
      rules.push({ fault, left: o.times ?? 1, match: o.match ?? {} });
    },
    clear() {
      rules.length = 0;
    },
    pending: () => rules.filter((r) => r.left > 0).length,
    requests: (m) => (m ? log.filter((r) => matches(m, r.method, r.target)) : [...log]),
    close() {
      closed ??= (async () => {
        const done = new Promise<void>((r) => server.close(() => r()));
        for (const s of sockets) s.destroy();
        agent.destroy();
        await done;
      })();
      return closed;
    },
  };
}
