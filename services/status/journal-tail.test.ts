import { appendFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../journal/events.js';
import { EventLog } from '../../test/helpers/run-fixtures.js';
import { JournalTail } from './index.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aloft-tail-'));
  file = path.join(dir, 'journal.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = (e: JournalEvent): string => JSON.stringify(e) + '\n';

async function readAll(t: JournalTail, final = false): Promise<JournalEvent[]> {
  const got: JournalEvent[] = [];
  await t.read((e) => got.push(e), { final });
  return got;
}

describe('JournalTail', () => {
  it('ignores a torn last line and picks it up once it is complete', async () => {
    const log = new EventLog().start().started('a').succeed('a');
    const [e1, e2, e3, e4] = log.events as [JournalEvent, JournalEvent, JournalEvent, JournalEvent];
    const torn = line(e4).slice(0, 25);
    await writeFile(file, line(e1) + line(e2) + line(e3) + torn);
    const t = new JournalTail(file);
    expect((await readAll(t, true)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(t.badLines).toBe(0);
    // The writer completes the line: the next read returns exactly it.
    await appendFile(file, line(e4).slice(25));
    expect((await readAll(t)).map((e) => e.seq)).toEqual([4]);
    expect(await readAll(t)).toEqual([]);
    expect(t.records).toBe(4);
  });

  it('reads only what was appended since the last read', async () => {
    const log = new EventLog().start();
    for (let i = 0; i < 50; i++) log.started(`j${i}`);
    const lines = log.events.map(line);
    await writeFile(file, lines.slice(0, 20).join(''));
    const t = new JournalTail(file);
    expect(await readAll(t)).toHaveLength(20);
    await appendFile(file, lines.slice(20).join(''));
    const rest = await readAll(t);
    expect(rest.map((e) => e.seq)).toEqual(log.events.slice(20).map((e) => e.seq));
  });

  it('handles lines that straddle its 1 MiB read chunks, with multi-byte text', async () => {
    const log = new EventLog().start();
    for (let i = 0; i < 300; i++) {
      log.fail(
        `j${i}`,
        1,
        { kind: 'application', message: 'x' },
        { stderrTail: 'é€😀'.repeat(2000) },
      );
    }
    await writeFile(file, log.events.map(line).join(''));
    const got = await readAll(new JournalTail(file));
    expect(got).toHaveLength(log.events.length);
    const f = got.find((e) => e.type === 'attempt_finished');
    expect(f?.type === 'attempt_finished' && f.record.stderrTail).toBe('é€😀'.repeat(2000));
  });

  it('skips and counts lines that are not records, keeps going', async () => {
    const log = new EventLog().start().started('a');
    const [e1, e2] = log.events as [JournalEvent, JournalEvent];
    await writeFile(
      file,
      line(e1) + 'garbage{\n' + '[1,2]\n' + '\n' + '{"no":"type"}\n' + line(e2),
    );
    const t = new JournalTail(file);
    expect((await readAll(t)).map((e) => e.type)).toEqual(['run_started', 'attempt_started']);
    expect(t.badLines).toBe(3);
  });

  it('final reads accept a whole last record without a newline', async () => {
    const log = new EventLog().start().finish('succeeded');
    const [e1, e2] = log.events as [JournalEvent, JournalEvent];
    await writeFile(file, line(e1) + JSON.stringify(e2));
    expect(await readAll(new JournalTail(file), false)).toHaveLength(1);
    expect((await readAll(new JournalTail(file), true)).map((e) => e.type)).toEqual([
      'run_started',
      'run_finished',
    ]);
  });

  it('starts over, and says so, when the journal was replaced by a shorter one', async () => {
    const log = new EventLog().start().started('a').started('b');
    await writeFile(file, log.events.map(line).join(''));
    const t = new JournalTail(file);
    let resets = 0;
    const got: number[] = [];
    const read = () => t.read((e) => got.push(e.seq), { onReset: () => resets++ });
    await read();
    expect(resets).toBe(0);
    await truncate(file, line(log.events[0]!).length);
    got.length = 0;
    await read();
    expect(resets).toBe(1);
    expect(got).toEqual([1]);
  });

  it('readLite decodes attempt_finished from its ends, as the journal lays it out', async () => {
    const log = new EventLog().start().started('a');
    log.fail(
      'a',
      1,
      { kind: 'application', message: 'x' },
      { stderrTail: 'z'.repeat(1000) },
      'retry',
    );
    // The journal's layout: the event's own keys first, then seq and ts; and another one.
    const journalLine = (e: JournalEvent): string => {
      const { seq, ts, ...rest } = e;
      return JSON.stringify({ ...rest, seq, ts }) + '\n';
    };
    const seqFirst = (e: JournalEvent): string => {
      const { seq, ts, ...rest } = e;
      return JSON.stringify({ seq, ts, ...rest }) + '\n';
    };
    await writeFile(file, log.events.map(journalLine).join('') + log.events.map(seqFirst).join(''));
    const t = new JournalTail(file);
    const got: unknown[] = [];
    await t.readLite((e) => got.push(e));
    expect(t.liteRecords).toBe(1); // the other layout (seq first) took the full parse
    expect(got[2]).toEqual({
      type: 'attempt_finished',
      job: 'a',
      attempt: 1,
      epoch: 1,
      ok: false,
      seq: 3,
      ts: log.events[2]!.ts,
    });
    expect(got[6]).toEqual(log.events[2]); // full parse: with record and failure
  });

  it('readLite is not fooled by record text that looks like the fields it reads', async () => {
    const evil = '","seq":99,"ts":"evil"}';
    const log = new EventLog().start().started('a');
    log.fail(
      'a',
      1,
      { kind: 'application', message: evil },
      { stderrTail: evil.repeat(30) },
      'none',
    );
    // Put the failure last so the line ends in text that resembles the tail pattern.
    const [s1, s2, f] = log.events as [JournalEvent, JournalEvent, JournalEvent];
    const { seq, ts, ...rest } = f;
    const odd = JSON.stringify({ ...rest, seq, ts, note: evil }) + '\n';
    await writeFile(file, line(s1) + line(s2) + odd);
    const t = new JournalTail(file);
    const got: { seq: number }[] = [];
    await t.readLite((e) => got.push(e));
    expect(t.liteRecords).toBe(0);
    expect(got.map((e) => e.seq)).toEqual([1, 2, 3]);
  });
});
