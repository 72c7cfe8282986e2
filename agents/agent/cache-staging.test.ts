/**
 * Stage-in through the agent's input cache, and disk full during an attempt: a real agent
 * on the in-process transport running real processes, an http store served by a counting
 * server on loopback, and small filesystems (tmpfs) mounted by the test — skipped only when
 * mounting is not permitted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptResultMsg, PlannedFile, TransferRecord } from '../../proto/index.js';
import {
  startCountingHttpServer,
  type CountingHttpServer,
} from '../../test/helpers/counting-http-server.js';
import { processJob, startTestAgent, type TestAgent } from '../testing/index.js';
import { mountPermitted, mountTmpfs, unmount } from '../../test/helpers/tmpfs.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fileUrl = (p: string): string => pathToFileURL(p).href;

const canMount = mountPermitted();

let server: CountingHttpServer;
let tmp: string;
const mounts: string[] = [];
const agents: TestAgent[] = [];

/** A fresh tmpfs of `size` (e.g. '8m'), unmounted in afterAll. */
function tmpfs(size: string): string {
  const dir = path.join(tmp, `mnt-${mounts.length}`);
  mountTmpfs(dir, size);
  mounts.push(dir);
  return dir;
}

beforeAll(async () => {
  server = await startCountingHttpServer();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'aloft-cache-staging-'));
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
});
afterAll(async () => {
  await server.close();
  for (const m of mounts.splice(0).reverse()) unmount(m);
  await rm(tmp, { recursive: true, force: true });
});

async function agent(o: Parameters<typeof startTestAgent>[0] = {}): Promise<TestAgent> {
  const t = await startTestAgent({ slots: 4, ...o });
  agents.push(t);
  return t;
}

function input(
  lfn: string,
  body: Buffer,
  p = `/${lfn}-${randomBytes(4).toString('hex')}`,
): PlannedFile {
  return {
    lfn,
    url: server.put(p, body),
    size: body.length,
    checksum: { type: 'sha256', value: sha(body) },
  };
}

async function run(
  t: TestAgent,
  job: Parameters<TestAgent['driver']['offer']>[0],
): Promise<AttemptResultMsg> {
  const { key, reply } = await t.driver.offer(job);
  expect(reply.accepted).toBe(true);
  return t.driver.result(key, 60_000);
}

/** The stage-in records of an attempt (their destination is in its scratch dir). */
const stageIns = (r: AttemptResultMsg): TransferRecord[] =>
  r.outcome.record.transfers.filter((x) => x.dst.includes('/scratch/'));

describe('stage-in through the input cache', () => {
  it('fetches an input read by many jobs once and records hit or miss per attempt', async () => {
    const t = await agent({ slots: 24 });
    const body = randomBytes(256 * 1024);
    const p = `/shared-${randomBytes(4).toString('hex')}.dat`;
    const shared = input('shared.dat', body, p);
    const first = await run(
      t,
      processJob('first', ['/usr/bin/test', '-s', 'shared.dat'], { inputs: [shared] }),
    );
    expect(first.outcome.ok).toBe(true);
    expect(stageIns(first)[0]).toMatchObject({
      lfn: 'shared.dat',
      src: shared.url,
      cache: 'miss',
      sha256: sha(body),
    });

    const jobs = Array.from({ length: 24 }, (_, i) =>
      processJob(`reader-${i}`, ['/usr/bin/cmp', 'shared.dat', 'shared.dat'], { inputs: [shared] }),
    );
    const results = await Promise.all(jobs.map((j) => run(t, j)));
    expect(results.every((r) => r.outcome.ok)).toBe(true);
    expect(results.map((r) => stageIns(r)[0]?.cache)).toEqual(jobs.map(() => 'hit'));
    expect(server.gets(p)).toBe(1);
    const stats = t.agent.cache!.stats();
    expect(stats).toMatchObject({ misses: 1, hits: 24, pinned: 0, entries: 1 });
    // The ad says what the cache holds (for data locality).
    await t.agent.advertise();
    expect(t.driver.ads.at(-1)?.cache).toMatchObject({
      entries: 1,
      bytes: body.length,
      largest: [{ urls: [shared.url], bytes: body.length, sha256: sha(body) }],
    });
  });

  it('gives jobs read-only links to cached inputs', async () => {
    const t = await agent();
    const body = Buffer.from('precious input\n');
    const f = input('in.txt', body);
    const check = 'test "$(stat -c %a:%h in.txt)" = 444:2';
    const r = await run(t, processJob('reader', ['/bin/sh', '-c', check], { inputs: [f] }));
    // Mode 0444 and two links (cache entry + scratch). Root ignores modes, which is why
    // hits also check the entry's size and mtime before use.
    expect(r.outcome.ok).toBe(true);
    const entry = path.join(t.workDir, 'cache', 'entries', `sha256-${sha(body)}`);
    expect((await stat(entry)).mode & 0o777).toBe(0o444);
  });

  it('without a cache, every attempt fetches its own copy', async () => {
    const t = await agent({ cache: false });
    const body = randomBytes(1024);
    const p = `/nocache-${randomBytes(4).toString('hex')}`;
    const f = input('x.dat', body, p);
    for (const id of ['a', 'b']) {
      const r = await run(t, processJob(id, ['/usr/bin/test', '-s', 'x.dat'], { inputs: [f] }));
      expect(r.outcome.ok).toBe(true);
      expect(stageIns(r)[0]?.cache).toBeUndefined();
    }
    expect(server.gets(p)).toBe(2);
    expect(t.agent.cache).toBeUndefined();
  });
});

describe.skipIf(!canMount)('stage-in across filesystems (tmpfs mounted by the test)', () => {
  it('file:// on the same filesystem is hard-linked directly; on another it goes through the cache', async () => {
    const t = await agent();
    const same = path.join(t.dir, 'store', 'near.dat');
    await mkdir(path.dirname(same), { recursive: true });
    await writeFile(same, 'near');
    const other = tmpfs('4m');
    await writeFile(path.join(other, 'far.dat'), 'far away');
    const inputs: PlannedFile[] = [
      { lfn: 'near.dat', url: fileUrl(same) },
      { lfn: 'far.dat', url: fileUrl(path.join(other, 'far.dat')) },
    ];
    const both = 'test -s near.dat && test -s far.dat';
    const one = await run(t, processJob('one', ['/bin/sh', '-c', both], { inputs }));
    expect(one.outcome.ok).toBe(true);
    const byLfn = (r: AttemptResultMsg) => new Map(stageIns(r).map((x) => [x.lfn, x]));
    expect(byLfn(one).get('near.dat')?.cache).toBeUndefined();
    expect(byLfn(one).get('far.dat')?.cache).toBe('miss');
    const two = await run(t, processJob('two', ['/usr/bin/test', '-s', 'far.dat'], { inputs }));
    expect(two.outcome.ok).toBe(true);
    expect(byLfn(two).get('far.dat')?.cache).toBe('hit');
  });

  it('a cache on another filesystem than scratch is copied from', async () => {
    const cacheDir = path.join(tmpfs('4m'), 'cache');
    const t = await agent({ cache: { dir: cacheDir, size: 2 * MiB } });
    const f = input('c.dat', randomBytes(64 * 1024));
    for (const [id, use] of [
      ['c1', 'miss'],
      ['c2', 'hit'],
    ] as const) {
      const r = await run(t, processJob(id, ['/usr/bin/test', '-s', 'c.dat'], { inputs: [f] }));
      expect(r.outcome.ok).toBe(true);
      expect(stageIns(r)[0]?.cache).toBe(use);
    }
    // Copies are the attempts' own: nothing stays pinned.
    expect(t.agent.cache!.stats()).toMatchObject({ pinned: 0, entries: 1 });
  });
});

describe.skipIf(!canMount)('disk full during an attempt (tmpfs mounted by the test)', () => {
  /** An agent whose whole work dir is on an 8 MiB tmpfs. */
  async function smallAgent(cacheSize: number): Promise<{ t: TestAgent; mount: string }> {
    const mount = tmpfs('8m');
    const dir = path.join(mount, 'agent-home');
    await mkdir(dir);
    const t = await agent({ dir, cache: { size: cacheSize } });
    return { t, mount };
  }

  it('a job filling the disk fails as infrastructure (ENOSPC); the agent evicts and re-advertises', async () => {
    const { t } = await smallAgent(6 * MiB);
    const f = input('in.dat', randomBytes(2 * MiB));
    const ok = await run(t, processJob('warm', ['/usr/bin/test', '-s', 'in.dat'], { inputs: [f] }));
    expect(ok.outcome.ok).toBe(true);
    expect(t.agent.cache!.stats().entries).toBe(1);
    const adsBefore = t.driver.ads.length;

    const job = processJob('filler', ['/bin/sh', '-c', 'head -c 16777216 /dev/zero > big.out'], {
      inputs: [f],
    });
    const r = await run(t, job);
    expect(r.outcome.ok).toBe(false);
    if (r.outcome.ok) return;
    expect(r.outcome.failure).toMatchObject({ kind: 'infrastructure', code: 'ENOSPC' });
    expect(r.outcome.failure.message).toMatch(/disk filled up during the run/);
    expect(stageIns(r)[0]?.cache).toBe('hit');
    // Evicted (the attempt's pin was released first), scratch removed, ad sent before the result.
    expect(t.agent.cache!.stats()).toMatchObject({ entries: 0, evictions: 1, pinned: 0 });
    expect(await readdir(path.join(t.workDir, 'scratch'))).toEqual([]);
    expect(t.driver.ads.length).toBeGreaterThan(adsBefore);
    const ad = t.driver.ads.at(-1)!;
    expect(ad.cache).toMatchObject({ entries: 0, bytes: 0 });
    expect(ad.diskFreeMb).toBeGreaterThanOrEqual(7);
  });

  it('no room for an input at stage-in is infrastructure (ENOSPC) and evicts the cache', async () => {
    const { t, mount } = await smallAgent(7 * MiB);
    const a = input('a.dat', randomBytes(2 * MiB));
    expect(
      (await run(t, processJob('a', ['/usr/bin/test', '-s', 'a.dat'], { inputs: [a] }))).outcome.ok,
    ).toBe(true);
    // Something else takes most of the disk.
    await writeFile(path.join(mount, 'other-tenant.bin'), Buffer.alloc(5 * MiB));
    const b = input('b.dat', randomBytes(3 * MiB));
    const r = await run(t, processJob('b', ['/usr/bin/test', '-s', 'b.dat'], { inputs: [b] }));
    expect(r.outcome.ok).toBe(false);
    if (r.outcome.ok) return;
    expect(r.outcome.failure).toMatchObject({ kind: 'infrastructure', code: 'ENOSPC' });
    expect(r.outcome.failure.message).toMatch(/stage-in failed: .*no space left/);
    expect(t.agent.cache!.stats()).toMatchObject({ entries: 0, evictions: 1 });
    expect(await readdir(path.join(t.workDir, 'cache', 'incoming'))).toEqual([]);
    expect(t.driver.ads.at(-1)?.cache?.entries).toBe(0);
  });

  it('no room in the output store at stage-out is infrastructure (ENOSPC)', async () => {
    const t = await agent();
    const store = tmpfs('1m');
    const out: PlannedFile = { lfn: 'out.dat', url: fileUrl(path.join(store, 'run', 'out.dat')) };
    const r = await run(
      t,
      processJob('writer', ['/bin/sh', '-c', 'head -c 2097152 /dev/zero > out.dat'], {
        outputs: [out],
      }),
    );
    expect(r.outcome.ok).toBe(false);
    if (r.outcome.ok) return;
    expect(r.outcome.failure).toMatchObject({ kind: 'infrastructure', code: 'ENOSPC' });
    expect(r.outcome.failure.message).toMatch(/stage-out failed/);
    // Nothing partial is visible in the store.
    expect(await readdir(path.join(store, 'run')).catch(() => [])).toEqual([]);
  });
});
