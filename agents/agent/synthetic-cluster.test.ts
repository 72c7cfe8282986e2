/**
 * Synthetic tasks (WfCommons replay) and cluster jobs run by the agent.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlannedJob } from '../../proto/index.js';
import { SYNTHETIC_PFN } from '../executors/index.js';
import { plannedJob, processJob, startTestAgent, type TestAgent } from '../testing/index.js';

const url = (p: string): string => pathToFileURL(p).href;

let t: TestAgent | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function syntheticJob(id: string, rest: Partial<PlannedJob>): PlannedJob {
  return plannedJob({
    id,
    executable: { name: 'task', pfn: SYNTHETIC_PFN, type: 'installed' },
    ...rest,
  });
}

describe('synthetic executor', () => {
  it('reads inputs, writes outputs of exactly size × size-scale bytes, deterministic by lfn', async () => {
    t = await startTestAgent();
    const store = path.join(t.dir, 'store');
    await mkdir(store, { recursive: true });
    await writeFile(path.join(store, 'in.dat'), Buffer.alloc(100_000, 3));
    const outputs = [
      { lfn: 'big.dat', size: 300_000 }, // 150_000 after scaling: several 64 KiB chunks
      { lfn: 'odd.dat', size: 12_345 }, // 6172.5 → rounds to 6173
      { lfn: 'empty.dat', size: 0 },
    ];
    const job = syntheticJob('synth', {
      args: ['--n', '3'],
      resources: { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 0.05, gpus: 0 },
      profiles: { aloft: { 'synthetic.size-scale': '0.5', 'synthetic.time-scale': '1' } },
      inputs: [{ lfn: 'in.dat', url: url(path.join(store, 'in.dat')) }],
      outputs: outputs.map((o) => ({ ...o, url: url(path.join(store, 'out', o.lfn)) })),
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    expect(outcome.ok).toBe(true);
    expect(outcome.record.executor).toBe('synthetic');
    expect(outcome.record.argv).toEqual([SYNTHETIC_PFN, '--n', '3']);
    expect(outcome.record.exitCode).toBe(0);
    const sizes = await Promise.all(
      outputs.map(async (o) => (await stat(path.join(store, 'out', o.lfn))).size),
    );
    expect(sizes).toEqual([150_000, 6173, 0]);
    const recorded = outcome.record.files.filter((f) => f.link === 'output').map((f) => f.size);
    expect(recorded).toEqual([150_000, 6173, 0]);

    // The same lfn gives the same bytes in another attempt; another lfn does not.
    const again = await t.driver.result((await t.driver.offer(job, { attempt: 2 })).key);
    const sha = (lfn: string): string | undefined =>
      again.outcome.record.files.find((f) => f.lfn === lfn)?.sha256;
    const first = (lfn: string): string | undefined =>
      outcome.record.files.find((f) => f.lfn === lfn)?.sha256;
    expect(sha('big.dat')).toBe(first('big.dat'));
    expect(sha('big.dat')).not.toBe(sha('odd.dat'));
    const bytes = await readFile(path.join(store, 'out', 'big.dat'));
    expect(bytes.subarray(0, 64).equals(Buffer.alloc(64))).toBe(false);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(first('big.dat'));
  });

  it('a kill stops the wait', async () => {
    t = await startTestAgent();
    const job = syntheticJob('sleepy', {
      resources: { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 3600, gpus: 0 },
    });
    const { key } = await t.driver.offer(job);
    await t.driver.startedOf(key);
    t.driver.kill(key, 'halt');
    const { outcome } = await t.driver.result(key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('cancelled');
  });

  it('a bad scale profile is reported, not guessed', async () => {
    t = await startTestAgent();
    const job = syntheticJob('badscale', {
      profiles: { aloft: { 'synthetic.time-scale': 'fast' } },
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.message).toMatch(/aloft.synthetic.time-scale 'fast'/);
  });
});

describe('cluster jobs', () => {
  it('runs members in order in one scratch dir and uploads every member output', async () => {
    t = await startTestAgent();
    const store = path.join(t.dir, 'store');
    await mkdir(store, { recursive: true });
    await writeFile(path.join(store, 'seed.txt'), 'seed\n');
    const a = processJob('a', ['/bin/sh', '-c', 'cat seed.txt > mid.txt; echo a >> mid.txt'], {
      inputs: [{ lfn: 'seed.txt', url: url(path.join(store, 'seed.txt')) }],
      outputs: [{ lfn: 'mid.txt', url: url(path.join(store, 'mid.txt')) }],
    });
    const b = processJob('b', ['/bin/sh', '-c', 'cat mid.txt > final.txt; echo b >> final.txt'], {
      // mid.txt comes from member a inside the cluster: not staged in
      inputs: [{ lfn: 'mid.txt', url: url(path.join(store, 'no-such-mid.txt')) }],
      outputs: [{ lfn: 'final.txt', url: url(path.join(store, 'final.txt')) }],
    });
    const c = syntheticJob('c', {
      inputs: [{ lfn: 'final.txt', url: url(path.join(store, 'final.txt')) }],
      outputs: [{ lfn: 'synth.dat', size: 10, url: url(path.join(store, 'synth.dat')) }],
    });
    const cluster = plannedJob({
      id: 'merge_1',
      kind: 'cluster',
      covers: ['a', 'b', 'c'],
      members: [a, b, c],
    });
    const { outcome } = await t.driver.result((await t.driver.offer(cluster)).key);
    expect(outcome.ok).toBe(true);
    expect(await readFile(path.join(store, 'final.txt'), 'utf8')).toBe('seed\na\nb\n');
    expect((await stat(path.join(store, 'synth.dat'))).size).toBe(10);
    expect(outcome.record.files.filter((f) => f.link === 'output').map((f) => f.lfn)).toEqual([
      'mid.txt',
      'final.txt',
      'synth.dat',
    ]);
  });

  it('the first failing member fails the attempt and the rest do not run', async () => {
    t = await startTestAgent();
    const a = processJob('ok1', ['/bin/true']);
    const b = processJob('bad2', ['/bin/sh', '-c', 'echo broken >&2; exit 4']);
    const c = processJob('never3', ['/bin/sh', '-c', 'touch ran']);
    const cluster = plannedJob({ id: 'cl_2', kind: 'cluster', members: [a, b, c] });
    const { outcome } = await t.driver.result((await t.driver.offer(cluster)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('application');
    expect(outcome.failure.message).toBe(
      'cluster cl_2 member bad2 failed: job bad2 (/bin/sh) exited with code 4',
    );
    expect(outcome.record.exitCode).toBe(4);
    expect(outcome.record.stderrTail).toBe('broken\n');
    await expect(stat(path.join(t.workDir, 'scratch', 'cl_2.1.1', 'ran'))).rejects.toThrow();
  });
});
