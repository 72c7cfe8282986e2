/**
 * The run journal (DESIGN §6): an append-only JSON-lines file, `${runDir}/journal.jsonl`,
 * that is the single source of truth of a run. This module owns writing it.
 *
 * Contract:
 * - `openJournal` replays the records already in the file (a resumed run) and repairs a torn
 *   tail left by a crash (a last record cut short, or trailing garbage): it is truncated
 *   away and logged. Damage anywhere before the tail is DATA_LOSS: we never guess.
 * - `append` assigns `seq` (monotonic, gap-free) and `ts` synchronously, so the order of
 *   `append` calls is the order in the file, and resolves only once the record is on disk
 *   (fdatasync). Appends that arrive while a write+sync is in flight are batched into the
 *   next single write+sync (group commit), so thousands of appends per second cost a
 *   handful of syncs; the first batch after an idle moment starts at the end of the
 *   event-loop turn of its first append, so one turn's appends share it.
 * - `close` flushes everything appended and closes the file; later appends are rejected.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AloftError, toAloftError } from '../../lib/errors/index.js';
import { silentLogger, type Logger } from '../../lib/logging/index.js';
import type { JournalEvent, NewEvent } from './events.js';
import { parseJournalBuffer } from './reader.js';

export const JOURNAL_FILE = 'journal.jsonl';

export function journalPath(runDir: string): string {
  return path.join(runDir, JOURNAL_FILE);
}

/** Counters for tests and benchmarks: how well group commit batches. */
export interface JournalStats {
  appends: number;
  /** write(2) calls, one per batch. */
  writes: number;
  /** fdatasync(2) calls, one per batch. */
  syncs: number;
  /** Largest number of records written by one batch. */
  maxBatch: number;
}

export interface Journal {
  readonly path: string;
  /** Events in the file when it was opened (replayed), in seq order. */
  readonly replayed: readonly JournalEvent[];
  /** Every event replayed or appended through this handle, in seq order. */
  readonly events: readonly JournalEvent[];
  /** The seq the next append will get. */
  readonly nextSeq: number;
  /** Append one event; resolves with the stored record once it is durable. */
  append(e: NewEvent): Promise<JournalEvent>;
  /** Resolves once everything appended so far is durable. */
  flush(): Promise<void>;
  stats(): JournalStats;
  close(): Promise<void>;
}

export interface OpenJournalOptions {
  signal?: AbortSignal;
  logger?: Logger;
  /** Keep appended events in `events` (default true; a long-lived scheduler may turn it off). */
  retain?: boolean;
  /** Wall clock for `ts`; injectable for tests. */
  now?: () => Date;
}

interface Pending {
  line: string;
  event: JournalEvent;
  resolve: (e: JournalEvent) => void;
  reject: (e: unknown) => void;
}

export async function openJournal(
  runDir: string,
  options: OpenJournalOptions = {},
): Promise<Journal> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const logger = options.logger ?? silentLogger;
  const file = journalPath(runDir);
  let bytes = Buffer.alloc(0);
  try {
    bytes = await fsp.readFile(file, signal ? { signal } : {});
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw toAloftError(e);
  }
  const parsed = parseJournalBuffer(bytes, file);
  const handle = await fsp.open(file, 'a');
  try {
    if (parsed.tornBytes > 0) {
      logger.warn(
        { file, bytes: parsed.tornBytes, validBytes: parsed.validBytes },
        'journal had a torn tail from an interrupted write; truncated it',
      );
      await handle.truncate(parsed.validBytes);
      await handle.sync();
    }
    if (bytes.length === 0) await syncDir(runDir);
  } catch (e) {
    await handle.close();
    throw toAloftError(e);
  }
  return new FileJournal(file, handle, parsed.events, options);
}

class FileJournal implements Journal {
  readonly replayed: readonly JournalEvent[];
  private readonly all: JournalEvent[];
  private seq: number;
  private pending: Pending[] = [];
  /** Settles when the last appended record is durable (or failed). */
  private tail: Promise<unknown> = Promise.resolve();
  private inFlight: Promise<void> | null = null;
  private closed = false;
  private failed: AloftError | null = null;
  private readonly counters: JournalStats = { appends: 0, writes: 0, syncs: 0, maxBatch: 0 };
  private readonly retain: boolean;
  private readonly now: () => Date;

  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    replayed: JournalEvent[],
    options: OpenJournalOptions,
  ) {
    this.replayed = replayed;
    this.all = [...replayed];
    const last = replayed[replayed.length - 1];
    this.seq = last ? last.seq + 1 : 1;
    this.retain = options.retain ?? true;
    this.now = options.now ?? (() => new Date());
  }

  get events(): readonly JournalEvent[] {
    return this.all;
  }

  get nextSeq(): number {
    return this.seq;
  }

  append(e: NewEvent): Promise<JournalEvent> {
    if (this.closed) {
      return Promise.reject(new AloftError('FAILED_PRECONDITION', 'journal is closed'));
    }
    if (this.failed) return Promise.reject(this.failed);
    const event = { ...e, seq: this.seq++, ts: this.now().toISOString() } as JournalEvent;
    this.counters.appends++;
    if (this.retain) this.all.push(event);
    const line = JSON.stringify(event) + '\n';
    const stored = new Promise<JournalEvent>((resolve, reject) => {
      this.pending.push({ line, event, resolve, reject });
      if (!this.inFlight) this.inFlight = this.drain();
    });
    this.tail = stored.catch(() => undefined);
    return stored;
  }

  /** Waits for the records appended so far only, not for ones appended meanwhile. */
  async flush(): Promise<void> {
    await this.tail;
    if (this.failed) throw this.failed;
  }

  stats(): JournalStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      while (this.inFlight) await this.inFlight;
    } finally {
      await this.handle.close();
    }
  }

  /** Write and sync batches until nothing is pending. One loop runs at a time. */
  private async drain(): Promise<void> {
    try {
      // The first batch waits for the end of this event-loop turn: everything appended
      // while handling one batch of incoming messages (a result's attempt_finished and
      // decision, the next offers' attempt_started, ...) goes in one write and one sync,
      // not the first append alone and the rest in a second.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          if (this.failed) throw this.failed;
          const buf = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
          let off = 0;
          while (off < buf.length) {
            const { bytesWritten } = await this.handle.write(buf, off, buf.length - off);
            off += bytesWritten;
          }
          this.counters.writes++;
          await this.handle.datasync();
          this.counters.syncs++;
          this.counters.maxBatch = Math.max(this.counters.maxBatch, batch.length);
          for (const p of batch) p.resolve(p.event);
        } catch (thrown) {
          // A failed write leaves the file in an unknown state: refuse every later append
          // rather than write after a hole. The next open repairs the tail.
          this.failed ??= new AloftError(
            'DATA_LOSS',
            `journal write failed: ${toAloftError(thrown).message}`,
            {
              cause: thrown,
              retryable: false,
            },
          );
          for (const p of batch) p.reject(this.failed);
        }
      }
    } finally {
      this.inFlight = null;
    }
  }
}

/** fsync a directory so a newly created file's entry survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  let h: fsp.FileHandle | undefined;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the file's own sync still holds.
  } finally {
    await h?.close();
  }
}
