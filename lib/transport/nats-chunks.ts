/**
 * Transparent chunking for messages larger than the server's max_payload (opt-in on the
 * sending side with `publishChunked`, always understood on the receiving side). A chunked
 * message is n NATS messages on the same subject, each carrying `aloft-msg-id: <id>` and
 * `aloft-chunk: <i>/<n>` (1-based) headers; the receiver reassembles the bytes and decodes
 * once. Reassembly is bounded (pending messages, pending bytes, age) so a sender that dies
 * half-way, or a hostile one, cannot grow a subscriber's memory without limit. Delivery
 * stays at-most-once: a message with a lost chunk is dropped (and logged) after the timeout.
 */

export const CHUNK_HEADER = 'aloft-chunk';
export const MSG_ID_HEADER = 'aloft-msg-id';
/** Largest message `publishChunked` sends; bigger payloads belong in the store. */
export const MAX_CHUNKED_BYTES = 64 * 1024 * 1024;

export function splitChunks(bytes: Uint8Array, chunkSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    out.push(bytes.subarray(at, Math.min(bytes.length, at + chunkSize)));
  }
  return out;
}

/** `i/n` with 1 <= i <= n, or undefined when malformed. */
export function parseChunkHeader(value: string): { index: number; count: number } | undefined {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(value);
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (index < 1 || count < 1 || index > count) return undefined;
  return { index, count };
}

export interface ChunkLimits {
  /** Partially received messages kept at once (oldest dropped beyond). Default 64. */
  maxPendingMessages?: number;
  /** Bytes held in partial messages (oldest dropped beyond). Default MAX_CHUNKED_BYTES. */
  maxPendingBytes?: number;
  /** A partial message older than this is dropped. Default 60 s. */
  timeoutMs?: number;
}

interface Partial {
  count: number;
  parts: (Uint8Array | undefined)[];
  received: number;
  bytes: number;
  startedAt: number;
}

export type ChunkResult =
  | { kind: 'complete'; bytes: Uint8Array }
  | { kind: 'pending' }
  | { kind: 'invalid'; reason: string };

/** Reassembles chunked messages for one subscription. Not thread-safe (there are none). */
export class ChunkAssembler {
  private readonly partials = new Map<string, Partial>();
  private pendingBytes = 0;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  /** Called for each partial message given up on (timeout or limits). */
  onDropped: (id: string, reason: string) => void = () => undefined;

  constructor(limits: ChunkLimits = {}) {
    this.maxMessages = limits.maxPendingMessages ?? 64;
    this.maxBytes = limits.maxPendingBytes ?? MAX_CHUNKED_BYTES;
    this.timeoutMs = limits.timeoutMs ?? 60_000;
  }

  add(id: string, header: string, part: Uint8Array, now: number): ChunkResult {
    this.expire(now);
    const pos = parseChunkHeader(header);
    if (!pos || id.length === 0) return { kind: 'invalid', reason: `bad chunk header '${header}'` };
    let p = this.partials.get(id);
    if (!p) {
      p = { count: pos.count, parts: [], received: 0, bytes: 0, startedAt: now };
      this.partials.set(id, p);
    }
    if (p.count !== pos.count) {
      this.drop(id, 'chunk count changed mid-message');
      return { kind: 'invalid', reason: `chunk count of message ${id} changed` };
    }
    if (p.parts[pos.index - 1] === undefined) {
      // Copy: the client may reuse the buffer a message was parsed from.
      p.parts[pos.index - 1] = part.slice();
      p.received++;
      p.bytes += part.length;
      this.pendingBytes += part.length;
    }
    if (p.received === p.count) {
      this.forget(id, p);
      const out = new Uint8Array(p.bytes);
      let at = 0;
      for (const c of p.parts) {
        out.set(c!, at);
        at += c!.length;
      }
      return { kind: 'complete', bytes: out };
    }
    while (this.partials.size > this.maxMessages || this.pendingBytes > this.maxBytes) {
      const oldest = this.partials.keys().next().value as string;
      this.drop(oldest, 'too many partially received chunked messages');
    }
    return { kind: 'pending' };
  }

  /** Drop everything (the subscription ended). */
  clear(): void {
    this.partials.clear();
    this.pendingBytes = 0;
  }

  private expire(now: number): void {
    for (const [id, p] of this.partials) {
      // Map order is insertion order, so the first young entry ends the scan.
      if (now - p.startedAt < this.timeoutMs) break;
      this.drop(id, 'chunks missing after the reassembly timeout');
    }
  }

  private forget(id: string, p: Partial): void {
    this.partials.delete(id);
    this.pendingBytes -= p.bytes;
  }

  private drop(id: string, reason: string): void {
    const p = this.partials.get(id);
    if (!p) return;
    this.forget(id, p);
    this.onDropped(id, reason);
  }
}
