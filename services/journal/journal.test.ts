import {
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  appendFileSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openJournal,
  readJournal,
  readJournalSync,
  journalPath,
  type JournalEvent,
  type NewEvent,
} from './index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'aloft-journal-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const succeeded = (job: string): NewEvent => ({ type: 'job_succeeded', job, attempt: 1 });

function fileRecords(): JournalEvent[] {
  return readFileSync(journalPath(dir), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JournalEvent);
}

describe('journal', () => {
  it('group-commits appends that arrive while a sync is in flight', async () => {
    const j = await openJournal(dir);
    const n = 3000;
    const t0 = process.hrtime.bigint();
    const stored = await Promise.all(
      Array.from({ length: n }, (_, i) => j.append(succeeded(`j${i}`))),
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await j.close();
    const s = j.stats();
    expect(s.appends).toBe(n);
    expect(s.syncs).toBe(s.writes);
    // The first append syncs alone; everything queued meanwhile shares later syncs.
    expect(s.syncs).toBeLessThan(n / 10);
    expect(s.maxBatch).toBeGreaterThan(1);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const onDisk = fileRecords();
    expect(onDisk.map((e) => (e as { job: string }).job)).toEqual(
      Array.from({ length: n }, (_, i) => `j${i}`),
    );
    console.log(
      `journal: ${n} appends in ${ms.toFixed(0)} ms (${Math.round((n / ms) * 1000)}/s), ${s.syncs} syncs`,
    );
  });

  it('keeps seq order across interleaved concurrent producers, each append durable on resolve', async () => {
    const j = await openJournal(dir);
    const producer = async (name: string): Promise<number[]> => {
      const seqs: number[] = [];
      for (let i = 0; i < 50; i++) {
        const e = await j.append(succeeded(`${name}-${i}`));
        // Resolved means on disk: the record is in the file now.
        const lines = readFileSync(journalPath(dir), 'utf8').split('\n');
        expect(lines).toContain(JSON.stringify(e));
        seqs.push(e.seq);
      }
      return seqs;
    };
    const results = await Promise.all(['a', 'b', 'c', 'd'].map(producer));
    await j.close();
    for (const seqs of results) {
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    }
    const onDisk = fileRecords();
    expect(onDisk.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(j.stats().syncs).toBeLessThan(200);
  });

  it('replays existing records in order and continues the sequence', async () => {
    const j1 = await openJournal(dir);
    for (const id of ['a', 'b', 'c']) await j1.append(succeeded(id));
    await j1.close();
    const j2 = await openJournal(dir);
    expect(j2.replayed.map((e) => [e.seq, (e as { job: string }).job])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(j2.nextSeq).toBe(4);
    const d = await j2.append(succeeded('d'));
    expect(d.seq).toBe(4);
    expect(j2.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    await j2.close();
    expect(readJournalSync(dir).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const streamed: number[] = [];
    for await (const e of readJournal(dir)) streamed.push(e.seq);
    expect(streamed).toEqual([1, 2, 3, 4]);
  });

  it('truncates a torn last record from a crash and carries on', async () => {
    const j1 = await openJournal(dir);
    await j1.append(succeeded('a'));
    await j1.append(succeeded('b'));
    await j1.close();
    const good = statSync(journalPath(dir)).size;
    appendFileSync(journalPath(dir), '{"seq":3,"ts":"2024-01-01T00:00:00.000Z","type":"job_succ');
    // Readers skip the torn tail without touching the file.
    expect(readJournalSync(dir).map((e) => e.seq)).toEqual([1, 2]);
    const streamed: number[] = [];
    for await (const e of readJournal(dir)) streamed.push(e.seq);
    expect(streamed).toEqual([1, 2]);
    expect(statSync(journalPath(dir)).size).toBeGreaterThan(good);

    const j2 = await openJournal(dir);
    expect(j2.replayed.map((e) => e.seq)).toEqual([1, 2]);
    expect(statSync(journalPath(dir)).size).toBe(good);
    await j2.append(succeeded('c'));
    await j2.close();
    expect(fileRecords().map((e) => [e.seq, (e as { job: string }).job])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  it('treats a complete-looking record without its newline, and trailing garbage, as torn', async () => {
    const j1 = await openJournal(dir);
    await j1.append(succeeded('a'));
    await j1.close();
    appendFileSync(
      journalPath(dir),
      '\u0000\u0000\u0000\n{"seq":2,"ts":"x","type":"job_succeeded"}',
    );
    const j2 = await openJournal(dir);
    expect(j2.replayed.map((e) => e.seq)).toEqual([1]);
    expect((await j2.append(succeeded('b'))).seq).toBe(2);
    await j2.close();
    expect(fileRecords().map((e) => e.seq)).toEqual([1, 2]);
  });

  it('refuses a journal damaged before its end (DATA_LOSS), naming the line', async () => {
    writeFileSync(
      journalPath(dir),
      '{"seq":1,"ts":"t","type":"run_started"}\nnot json\n{"seq":2,"ts":"t","type":"run_finished"}\n',
    );
    await expect(openJournal(dir)).rejects.toMatchObject({ code: 'DATA_LOSS' });
    await expect(openJournal(dir)).rejects.toThrow(/line 2/);
    expect(() => readJournalSync(dir)).toThrow(/line 2/);
  });

  it('rejects appends after close, having flushed everything before it', async () => {
    const j = await openJournal(dir);
    const pending = [j.append(succeeded('a')), j.append(succeeded('b'))];
    await j.close();
    await expect(Promise.all(pending)).resolves.toHaveLength(2);
    await expect(j.append(succeeded('c'))).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(fileRecords()).toHaveLength(2);
  });

  it('reads nothing from a run directory without a journal', async () => {
    expect(readJournalSync(dir)).toEqual([]);
    const got: JournalEvent[] = [];
    for await (const e of readJournal(dir)) got.push(e);
    expect(got).toEqual([]);
  });
});
