/**
 * An incremental, tolerant reader of `${runDir}/journal.jsonl` for the projections.
 *
 * Contract: `read()` returns the complete records appended since the previous call and
 * remembers the byte offset just past the last complete line, so `aloft status -w` folds
 * only new lines. A line counts only once its '\n' is on disk: a record being written right
 * now (or a torn last line after a crash) is left alone, and picked up by a later `read()`
 * once it is complete. `final: true` (one-shot readers) additionally accepts a last line
 * without '\n' when it parses as a whole JSON object — a torn prefix of an object never
 * does, so it is ignored. Lines that are not JSON objects with a string `type` are counted
 * in `badLines` and skipped, never thrown: a projection must render what it can.
 *
 * `readLite()` is the same for folds that need no invocation records (status): an
 * attempt_finished line laid out the way the journal writes it (`{"type":…,"job":…,
 * "attempt":…,"epoch":…,"ok":…, … ,"seq":…,"ts":…}`) is decoded from its first and last
 * bytes only, without parsing the record in between — most of a journal's bytes. Any
 * other layout falls back to a full parse, so the result never depends on the layout.
 *
 * services/journal's reader replays for the scheduler (and treats damage as fatal); this
 * one exists because status needs offsets for incremental watching and must stay cheap at
 * 100k jobs.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { AttemptFinished, JournalEvent } from '../journal/events.js';

const CHUNK = 1 << 20;
const NL = 0x0a;
/** Bytes decoded from each end of an attempt_finished line on the lite path. */
const HEAD = 256;
const TAIL = 96;
const LITE_HEAD =
  /^\{"type":"attempt_finished","job":"([^"\\]*)","attempt":(\d+),"epoch":(\d+),"ok":(true|false),/;
const LITE_TAIL = /,"seq":(\d+),"ts":"([^"\\]*)"\}\s*$/;
const FINISHED_PREFIX = Buffer.from('{"type":"attempt_finished",');

/** attempt_finished without its record and failure (the lite path leaves them out). */
export type LiteAttemptFinished = Omit<AttemptFinished, 'record' | 'failure'> &
  Partial<Pick<AttemptFinished, 'record' | 'failure'>>;

/** What a fold that needs no invocation records consumes; every JournalEvent is one. */
export type LiteEvent = Exclude<JournalEvent, AttemptFinished> | LiteAttemptFinished;

export interface TailReadOptions {
  signal?: AbortSignal;
  /** Also accept a last line without '\n' if it is a whole JSON object (one-shot reads). */
  final?: boolean;
  /**
   * Called when the file is shorter than what was already consumed (the journal was
   * replaced), before reading it again from the start: an incremental fold must start over.
   */
  onReset?: () => void;
}

export class JournalTail {
  /** Byte offset just past the last consumed line. */
  offset = 0;
  /** Lines skipped because they were not journal records (corruption, foreign lines). */
  badLines = 0;
  /** Records returned so far. */
  records = 0;
  /** Of which decoded on the lite path (attempt_finished without parsing its record). */
  liteRecords = 0;

  constructor(readonly file: string) {}

  /** Records appended since the last call, in file order, one `onEvent` call each. */
  read(onEvent: (e: JournalEvent) => void, opts: TailReadOptions = {}): Promise<number> {
    return this.run(onEvent as (e: LiteEvent) => void, false, opts);
  }

  /** As read(), but attempt_finished records may come without `record` and `failure`. */
  readLite(onEvent: (e: LiteEvent) => void, opts: TailReadOptions = {}): Promise<number> {
    return this.run(onEvent, true, opts);
  }

  private async run(
    onEvent: (e: LiteEvent) => void,
    lite: boolean,
    opts: TailReadOptions,
  ): Promise<number> {
    const fh = await open(this.file, 'r');
    try {
      return await this.readFrom(fh, onEvent, lite, opts);
    } finally {
      await fh.close();
    }
  }

  private async readFrom(
    fh: FileHandle,
    onEvent: (e: LiteEvent) => void,
    lite: boolean,
    opts: TailReadOptions,
  ): Promise<number> {
    const { size } = await fh.stat();
    // Shorter than what we consumed: not a torn tail being repaired (we never consume an
    // incomplete line), so the journal was replaced. Start over rather than read from the
    // middle of a record.
    if (size < this.offset) {
      this.offset = 0;
      opts.onReset?.();
    }
    const before = this.records;
    let pos = this.offset;
    let carry: Buffer | undefined;
    const buf = Buffer.allocUnsafe(CHUNK);
    while (pos < size) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const data = carry ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf;
      const end = carry ? data.length : bytesRead;
      let start = 0;
      for (;;) {
        const nl = data.indexOf(NL, start);
        if (nl < 0 || nl >= end) break;
        if (nl > start) this.line(data, start, nl, onEvent, lite);
        start = nl + 1;
      }
      // Bytes after the last '\n' wait for the next chunk (or the next read()).
      carry = start < end ? Buffer.from(data.subarray(start, end)) : undefined;
      this.offset = pos - (carry?.length ?? 0);
    }
    if (opts.final && carry && carry.length > 0) {
      // A last line without '\n': a whole object is accepted, a torn prefix is ignored
      // (and left unconsumed, so a later read sees it once completed).
      const e = parseRecord(carry.toString('utf8'));
      if (e) {
        onEvent(e);
        this.records++;
        this.offset += carry.length;
      }
    }
    return this.records - before;
  }

  private line(
    data: Buffer,
    start: number,
    end: number,
    onEvent: (e: LiteEvent) => void,
    lite: boolean,
  ): void {
    if (lite && end - start > HEAD + TAIL && startsWith(data, start, FINISHED_PREFIX)) {
      const e = liteFinished(
        data.toString('latin1', start, start + HEAD),
        data.toString('latin1', end - TAIL, end),
      );
      if (e) {
        onEvent(e);
        this.records++;
        this.liteRecords++;
        return;
      }
    }
    const text = data.toString('utf8', start, end);
    const e = parseRecord(text);
    if (!e) {
      if (text.trim() !== '') this.badLines++;
      return;
    }
    onEvent(e);
    this.records++;
  }
}

/** One journal line → event, or undefined when it is not a journal record. */
export function parseRecord(line: string): JournalEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const type = (v as { type?: unknown }).type;
  return typeof type === 'string' ? (v as JournalEvent) : undefined;
}

/**
 * The top-level fields of an attempt_finished line from its two ends. Sound because the
 * head regex is anchored at the object's first key, and the tail regex at its closing
 * brace, with no '}' between "ts"'s value and it; a quote inside a string is always
 * escaped, so neither can match text inside the record. Only ASCII is accepted (job ids
 * are [A-Za-z0-9_-]), so decoding the ends as latin1 cannot split a character.
 */
function liteFinished(head: string, tail: string): LiteAttemptFinished | undefined {
  const h = LITE_HEAD.exec(head);
  const t = LITE_TAIL.exec(tail);
  if (!h || !t || !/^[\x20-\x7e]*$/.test(h[1]!)) return undefined;
  return {
    type: 'attempt_finished',
    job: h[1]!,
    attempt: Number(h[2]),
    epoch: Number(h[3]),
    ok: h[4] === 'true',
    seq: Number(t[1]),
    ts: t[2]!,
  };
}

function startsWith(data: Buffer, at: number, prefix: Buffer): boolean {
  return data.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}
