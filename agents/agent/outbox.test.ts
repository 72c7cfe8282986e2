/**
 * Results are retransmitted until acknowledged and survive an agent restart.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTempName } from '../../lib/store/index.js';
import { createInProcessTransport } from '../../lib/transport/index.js';
import { processJob, startTestAgent, type TestAgent } from '../testing/index.js';

const opened: TestAgent[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});

/** Complete outbox entries (a write in progress is a temp file, not yet an entry). */
async function outboxFiles(workDir: string): Promise<string[]> {
  return (await readdir(path.join(workDir, 'outbox'))).filter((f) => !isTempName(f)).sort();
}

describe('outbox', () => {
  it('retransmits a result until it is acknowledged, then forgets it', async () => {
    const t = await startTestAgent({ resultRetryMs: 20, resultPersistDelayMs: 0 });
    opened.push(t);
    t.driver.autoAck = false;
    const { key } = await t.driver.offer(processJob('r', ['/bin/true']), { epoch: 3 });
    await t.driver.resultCount(key, 3);
    expect(await outboxFiles(t.workDir)).toEqual(['r.1.3.json']);
    // an ack for another epoch (stale) changes nothing
    t.driver.ack({ ...key, epoch: 2 });
    await t.driver.resultCount(key, 4);
    expect(await outboxFiles(t.workDir)).toEqual(['r.1.3.json']);
    t.driver.ack(key);
    // After the ack arrives no more copies are sent: wait for the ack to be processed (the
    // outbox file disappears), then for several retransmission periods.
    for (let i = 0; i < 100 && (await outboxFiles(t.workDir)).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await outboxFiles(t.workDir)).toEqual([]);
    const n = t.driver.results.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(t.driver.results.length).toBe(n);
    // all copies are the same result
    expect(new Set(t.driver.results.map((m) => JSON.stringify(m))).size).toBe(1);
  });

  it('writes a result to disk only when its ack is late: prompt acks cost no disk writes', async () => {
    const t = await startTestAgent({ resultRetryMs: 60_000, resultPersistDelayMs: 1500 });
    opened.push(t);
    // acked at once (the driver's default): never written
    const quick = await t.driver.offer(processJob('quick', ['/bin/true']));
    await t.driver.result(quick.key);
    t.driver.autoAck = false;
    const slow = await t.driver.offer(processJob('slow', ['/bin/true']));
    await t.driver.result(slow.key);
    // not yet on disk within the delay; on disk after it
    expect(await outboxFiles(t.workDir)).toEqual([]);
    for (let i = 0; i < 600 && (await outboxFiles(t.workDir)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await outboxFiles(t.workDir)).toEqual(['slow.1.1.json']);
    t.driver.ack(slow.key);
    for (let i = 0; i < 100 && (await outboxFiles(t.workDir)).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await outboxFiles(t.workDir)).toEqual([]);
  });

  it('an unacknowledged result survives a restart and is resent by the new agent', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-outbox-'));
    const workDir = path.join(dir, 'agent');
    try {
      const first = await startTestAgent({ dir, workDir, resultRetryMs: 60_000 });
      first.driver.autoAck = false;
      const { key } = await first.driver.offer(
        processJob('survivor', ['/bin/sh', '-c', 'echo done']),
      );
      const original = await first.driver.result(key);
      expect(original.outcome.ok).toBe(true);
      await first.agent.stop();
      first.driver.close();
      await first.transport.close();
      expect(await outboxFiles(workDir)).toEqual(['survivor.1.1.json']);
      // a temp file of an interrupted outbox write is cleaned up, never sent
      await writeFile(path.join(workDir, 'outbox', '.x.json.aloft-tmp-123'), '{');

      // A new agent process on the same work dir, on a new transport.
      const second = await startTestAgent({
        dir,
        workDir,
        transport: createInProcessTransport(),
        resultRetryMs: 60_000,
      });
      opened.push(second);
      const resent = await second.driver.result(key);
      expect(resent).toEqual(original);
      for (let i = 0; i < 100 && (await outboxFiles(workDir)).length > 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(await outboxFiles(workDir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a repeated offer of a finished, unacknowledged attempt resends the result instead of rerunning', async () => {
    const t = await startTestAgent({ resultRetryMs: 60_000 });
    opened.push(t);
    t.driver.autoAck = false;
    const job = processJob('once', ['/bin/sh', '-c', 'echo $$']);
    const { key } = await t.driver.offer(job);
    const r1 = await t.driver.result(key);
    const again = await t.driver.offer(job);
    expect(again.reply).toEqual({ accepted: true });
    await t.driver.resultCount(key, 2);
    const copies = t.driver.results.filter((r) => r.key.job === 'once');
    expect(copies[1]).toEqual(r1);
    expect(t.driver.started.filter((s) => s.key.job === 'once')).toHaveLength(1);
  });
});
