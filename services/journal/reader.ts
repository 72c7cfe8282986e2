/**
 * Reading a journal without writing it: for projections (status, analyze, stats) and for
 * `openJournal`'s replay. A torn last record (a crash mid-write) is skipped here and
 * repaired by the next `openJournal`; damage before the tail is DATA_LOSS.
 */
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { AloftError } from '../../lib/errors/index.js';
import type { JournalEvent } from './events.js';

const FILE = 'journal.jsonl';
const NL = 0x0a;

export interface ParsedJournal {
  events: JournalEvent[];
  /** Length of the valid prefix (every complete, parseable record). */
  validBytes: number;
  /** Bytes after the valid prefix: a torn record or garbage from an interrupted write. */
  tornBytes: number;
}

function parseRecord(line: string): JournalEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    if (
      typeof v === 'object' &&
      v !== null &&
      typeof (v as { seq?: unknown }).seq === 'number' &&
      typeof (v as { type?: unknown }).type === 'string'
    ) {
      return v as JournalEvent;
    }
  } catch {
    // fall through: not a record
  }
  return undefined;
}

function damaged(file: string, lineNo: number, why: string): AloftError {
  return new AloftError(
    'DATA_LOSS',
    `${file}: line ${lineNo}: ${why}; the journal is damaged before its end, so the run cannot be replayed safely (move the run directory away and start a new run)`,
    { retryable: false },
  );
}

/** Incremental parser shared by the sync and streaming readers. */
class Parser {
  readonly events: JournalEvent[] = [];
  validBytes = 0;
  private offset = 0;
  private lineNo = 0;
  private suspect: { lineNo: number; at: number } | null = null;
  private lastSeq = 0;

  constructor(
    private readonly file: string,
    private readonly onEvent?: (e: JournalEvent) => void,
  ) {}

  /** Feed one complete line (without its newline) of `byteLength` bytes + 1 for the newline. */
  line(text: string, byteLength: number): void {
    this.lineNo++;
    const start = this.offset;
    this.offset += byteLength + 1;
    const e = parseRecord(text);
    if (!e) {
      if (text.trim() === '' && !this.suspect) {
        this.validBytes = this.offset;
        return;
      }
      this.suspect ??= { lineNo: this.lineNo, at: start };
      return;
    }
    if (this.suspect) throw damaged(this.file, this.suspect.lineNo, 'not a journal record');
    if (e.seq <= this.lastSeq) {
      throw damaged(this.file, this.lineNo, `seq ${e.seq} does not follow ${this.lastSeq}`);
    }
    this.lastSeq = e.seq;
    this.validBytes = this.offset;
    if (this.onEvent) this.onEvent(e);
    else this.events.push(e);
  }
}

export function parseJournalBuffer(buf: Buffer, file = FILE): ParsedJournal {
  const p = new Parser(file);
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(NL, start);
    if (nl < 0) break;
    p.line(buf.toString('utf8', start, nl), nl - start);
    start = nl + 1;
  }
  return { events: p.events, validBytes: p.validBytes, tornBytes: buf.length - p.validBytes };
}

/** Every complete record of `${runDir}/journal.jsonl` ([] when there is none yet). */
export function readJournalSync(runDir: string): JournalEvent[] {
  const file = path.join(runDir, FILE);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return parseJournalBuffer(buf, file).events;
}

/**
 * Stream the records of `${runDir}/journal.jsonl` in seq order, without holding the file in
 * memory (journals of 100k-job runs are large). Yields nothing when there is no journal.
 */
export async function* readJournal(
  runDir: string,
  options: { signal?: AbortSignal } = {},
): AsyncIterable<JournalEvent> {
  const file = path.join(runDir, FILE);
  const stream = createReadStream(file, options.signal ? { signal: options.signal } : {});
  let ready: JournalEvent[] = [];
  const parser = new Parser(file, (e) => ready.push(e));
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(NL, start);
        if (nl < 0) break;
        parser.line(buf.toString('utf8', start, nl), nl - start);
        start = nl + 1;
      }
      rest = buf.subarray(start);
      if (ready.length > 0) {
        const out = ready;
        ready = [];
        yield* out;
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
}
