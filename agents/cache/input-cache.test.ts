/**
 * The input cache against real stores: an http store served by a counting HTTP server on
 * loopback, the file store on another directory, and (when s3rver is installed) the s3
 * store against a real S3-protocol server — counts taken at the servers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createS3Store, storeFor, type S3Store } from '../../lib/store/index.js';
import {
  startCountingHttpServer,
  type CountingHttpServer,
} from '../../test/helpers/counting-http-server.js';
import {
  isGetObject,
  s3ServerAvailable,
  startS3Server,
  type S3TestServer,
} from '../../test/helpers/s3-server.js';
import {
  createInputCache,
  type Acquired,
  type CacheLease,
  type InputCache,
  type InputCacheOptions,
} from './index.js';

const KiB = 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let server: CountingHttpServer;
let tmp: string;
const caches: InputCache[] = [];

beforeAll(async () => {
  server = await startCountingHttpServer();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-cache-'));
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});
afterEach(async () => {
  for (const c of caches.splice(0)) await c.stop();
});

let n = 0;
async function newCache(o: Partial<InputCacheOptions> = {}): Promise<InputCache> {
  const cache = createInputCache({ dir: path.join(tmp, `cache-${++n}`), size: 1024 * KiB, ...o });
  caches.push(cache);
  await cache.start();
  return cache;
}

/** A fresh object on the http server: its URL, bytes and sha256. */
function served(
  size: number,
  name = `/obj-${++n}.dat`,
): { url: string; body: Buffer; sha256: string; p: string } {
  const body = randomBytes(size);
  return { url: server.put(name, body), body, sha256: sha(body), p: name };
}

function leaseOf(a: Acquired): CacheLease {
  if (a.kind !== 'cached') throw new Error(`expected a cached entry, got bypass: ${a.reason}`);
  return a.lease;
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Bytes of cache objects and downloads in progress on disk (markers excluded). */
function diskBytes(cache: InputCache): number {
  let total = 0;
  for (const sub of ['entries', 'incoming']) {
    const d = path.join(cache.dir, sub);
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      if (sub === 'entries' && name.endsWith('.json')) continue;
      try {
        total += statSync(path.join(d, name)).size;
      } catch {
        // removed meanwhile
      }
    }
  }
  return total;
}

const objectsOn = async (cache: InputCache): Promise<string[]> =>
  (await readdir(path.join(cache.dir, 'entries'))).filter((f) => !f.endsWith('.json')).sort();

describe('input cache', () => {
  it('single-flight: concurrent requests for one input make one GET, each gets its own pin', async () => {
    const cache = await newCache();
    const f = served(200 * KiB);
    server.hold();
    const N = 50;
    const all = Array.from({ length: N }, () => cache.acquire({ url: f.url, sha256: f.sha256 }));
    try {
      await until(() => server.held() > 0, 'the download to reach the server');
      expect(server.held()).toBe(1);
      expect(cache.stats().inFlight).toBe(1);
    } finally {
      server.release();
    }
    const leases = (await Promise.all(all)).map(leaseOf);
    expect(server.gets(f.p)).toBe(1);
    expect(new Set(leases.map((l) => l.path)).size).toBe(1);
    expect(leases.filter((l) => !l.hit)).toHaveLength(1);
    const s = cache.stats();
    expect(s).toMatchObject({
      entries: 1,
      misses: 1,
      hits: N - 1,
      pinned: 1,
      bytes: f.body.length,
    });
    expect(s.bytesSaved).toBe((N - 1) * f.body.length);
    expect(await readFile(leases[0]!.path)).toEqual(f.body);
    expect((await stat(leases[0]!.path)).mode & 0o777).toBe(0o444);
    for (const l of leases) l.release();
    expect(cache.stats().pinned).toBe(0);

    // Keyed by URL + size + mtime (no checksum): every request asks HEAD, one GET.
    const g = served(64 * KiB);
    const byUrl = await Promise.all(
      Array.from({ length: 20 }, () => cache.acquire({ url: g.url })),
    );
    expect(byUrl.every((a) => a.kind === 'cached')).toBe(true);
    expect(server.gets(g.p)).toBe(1);
    expect(server.heads(g.p)).toBe(20);
    for (const a of byUrl) leaseOf(a).release();
  });

  it('content-addressed: two URLs with the same sha256 share one entry', async () => {
    const cache = await newCache();
    const body = randomBytes(10 * KiB);
    const u1 = server.put(`/same-a-${++n}`, body);
    const u2 = server.put(`/same-b-${++n}`, body);
    const a = leaseOf(await cache.acquire({ url: u1, sha256: sha(body) }));
    const b = leaseOf(await cache.acquire({ url: u2, sha256: sha(body).toUpperCase() }));
    expect(b.path).toBe(a.path);
    expect(b.hit).toBe(true);
    expect(cache.summary().largest).toEqual([
      { urls: [u2, u1], bytes: body.length, sha256: sha(body) },
    ]);
    a.release();
    b.release();
  });

  it('a wrong checksum is refused and nothing enters the cache', async () => {
    const cache = await newCache();
    const f = served(4 * KiB);
    await expect(cache.acquire({ url: f.url, sha256: 'ab'.repeat(32) })).rejects.toMatchObject({
      code: 'DATA_LOSS',
    });
    await expect(cache.acquire({ url: f.url, sha256: 'nope' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await objectsOn(cache)).toEqual([]);
    expect(await readdir(path.join(cache.dir, 'incoming'))).toEqual([]);
    await expect(cache.acquire({ url: server.url('/missing.dat') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('links into scratch: read-only hard links, hit and miss reported', async () => {
    const cache = await newCache();
    const f = served(8 * KiB);
    const scratch = path.join(tmp, `scratch-${++n}`);
    await mkdir(scratch);
    const first = await cache.fetchInto({ url: f.url, sha256: f.sha256 }, path.join(scratch, 'a'));
    const second = await cache.fetchInto({ url: f.url, sha256: f.sha256 }, path.join(scratch, 'b'));
    expect([first.use, second.use]).toEqual(['miss', 'hit']);
    expect(first.placement).toBe('link');
    const s = await stat(path.join(scratch, 'b'));
    expect(s.nlink).toBe(3);
    expect(s.mode & 0o777).toBe(0o444);
    expect(await readFile(path.join(scratch, 'a'))).toEqual(f.body);
    expect(cache.stats().pinned).toBe(1);
    first.release();
    second.release();
    expect(cache.stats().pinned).toBe(0);
  });

  it('evicts least recently used first and stays within its budget (sampled)', async () => {
    const budget = 10 * KiB;
    const cache = await newCache({ size: budget });
    let max = 0;
    const sampler = setInterval(() => (max = Math.max(max, diskBytes(cache))), 1);
    try {
      const files = Array.from({ length: 20 }, () => served(3 * KiB));
      const use = async (i: number): Promise<Acquired> => {
        const a = await cache.acquire({ url: files[i]!.url, sha256: files[i]!.sha256 });
        if (a.kind === 'cached') a.lease.release();
        return a;
      };
      const keyOf = (i: number): string => `sha256-${files[i]!.sha256}`;
      await use(0);
      await use(1);
      await use(2);
      await use(0); // 1 is now the least recently used
      expect(cache.stats().hits).toBe(1);
      await use(3);
      expect(await objectsOn(cache)).toEqual([keyOf(0), keyOf(2), keyOf(3)].sort());
      expect(cache.stats().evictions).toBe(1);
      // All at once: downloads in flight count against the budget too.
      const outcomes = await Promise.all(files.slice(4).map((_, i) => use(i + 4)));
      expect(outcomes.some((o) => o.kind === 'cached')).toBe(true);
      const bypass = outcomes.find((o) => o.kind === 'bypass');
      if (bypass?.kind === 'bypass') expect(bypass.reason).toMatch(/fill the cache budget/);
      max = Math.max(max, diskBytes(cache));
      expect(max).toBeGreaterThan(0);
      expect(max).toBeLessThanOrEqual(budget);
      expect(cache.stats().bytes).toBeLessThanOrEqual(budget);
    } finally {
      clearInterval(sampler);
    }
  });

  it('never evicts a pinned entry; bypasses when pinned entries leave no room', async () => {
    const cache = await newCache({ size: 10 * KiB });
    const files = Array.from({ length: 4 }, () => served(3 * KiB));
    const held = [];
    for (const f of files.slice(0, 3))
      held.push(leaseOf(await cache.acquire({ url: f.url, sha256: f.sha256 })));
    const f3 = files[3]!;
    const blocked = await cache.acquire({ url: f3.url, sha256: f3.sha256 });
    expect(blocked).toMatchObject({
      kind: 'bypass',
      reason: expect.stringMatching(/fill the cache budget/),
    });
    expect(await objectsOn(cache)).toHaveLength(3);
    expect(cache.stats()).toMatchObject({ pinned: 3, evictions: 0, bypasses: 1 });
    held[0]!.release();
    const now = leaseOf(await cache.acquire({ url: f3.url, sha256: f3.sha256 }));
    const left = await objectsOn(cache);
    expect(left).not.toContain(held[0]!.key);
    expect(left).toEqual([held[1]!.key, held[2]!.key, now.key].sort());
    for (const l of [...held, now]) l.release();
  });

  it('fetches an input larger than the budget straight to its destination, uncached', async () => {
    const cache = await newCache({ size: 10 * KiB });
    const f = served(20 * KiB);
    const dest = path.join(tmp, `big-${++n}.dat`);
    const r = await cache.fetchInto({ url: f.url, sha256: f.sha256 }, dest);
    expect(r).toMatchObject({ use: 'bypass', bytes: f.body.length, sha256: f.sha256 });
    expect(r.reason).toBe('20 KiB is larger than the cache budget of 10 KiB');
    expect(await readFile(dest)).toEqual(f.body);
    expect(await objectsOn(cache)).toEqual([]);
    await cache.fetchInto({ url: f.url, sha256: f.sha256 }, `${dest}.2`);
    expect(server.gets(f.p)).toBe(2);
  });

  it('does not cache what it cannot key (no checksum, no Last-Modified)', async () => {
    const cache = await newCache();
    const body = randomBytes(2 * KiB);
    const url = server.put(`/unkeyed-${++n}`, body, { lastModified: false });
    const a = await cache.acquire({ url });
    expect(a).toMatchObject({ kind: 'bypass', reason: expect.stringMatching(/to key it by/) });
  });

  it('detects a corrupt entry on use (size/mtime, or full sha256) and fetches it again', async () => {
    const cache = await newCache();
    const f = served(16 * KiB);
    const src = { url: f.url, sha256: f.sha256 };
    const first = leaseOf(await cache.acquire(src));
    first.release();
    // Someone writes the read-only object (root can): same size, other bytes.
    await chmod(first.path, 0o644);
    await writeFile(first.path, randomBytes(16 * KiB));
    const again = leaseOf(await cache.acquire(src));
    expect(again.hit).toBe(false);
    expect(server.gets(f.p)).toBe(2);
    expect(cache.stats().corrupt).toBe(1);
    expect(await readFile(again.path)).toEqual(f.body);
    again.release();

    // A change that keeps size and mtime is found only by re-hashing.
    const strict = await newCache({ verifyHits: 'sha256' });
    const g = served(16 * KiB);
    const one = leaseOf(await strict.acquire({ url: g.url, sha256: g.sha256 }));
    one.release();
    const before = await stat(one.path);
    await chmod(one.path, 0o644);
    const bytes = Buffer.from(g.body);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(one.path, bytes);
    await chmod(one.path, 0o444);
    await utimes(one.path, before.atime, before.mtime);
    const two = leaseOf(await strict.acquire({ url: g.url, sha256: g.sha256 }));
    expect(strict.stats().corrupt).toBe(1);
    expect(await readFile(two.path)).toEqual(g.body);
    two.release();
  });

  it('keys file:// inputs by size and mtime: a changed source is fetched again', async () => {
    const cache = await newCache();
    const dir = path.join(tmp, `store-${++n}`);
    await mkdir(dir);
    const file = path.join(dir, 'in.dat');
    await writeFile(file, 'version one');
    const url = pathToFileURL(file).href;
    const a = leaseOf(await cache.acquire({ url }));
    a.release();
    expect(leaseOf(await cache.acquire({ url })).hit).toBe(true);
    await writeFile(file, 'version two!');
    const b = leaseOf(await cache.acquire({ url }));
    expect(b.hit).toBe(false);
    expect(await readFile(b.path, 'utf8')).toBe('version two!');
    expect(cache.stats().entries).toBe(2);
  });

  it('survives a restart: index rebuilt from disk, junk dropped, LRU order kept', async () => {
    const dir = path.join(tmp, `restart-${++n}`);
    const budget = 10 * KiB;
    const a = createInputCache({ dir, size: budget });
    await a.start();
    const files = Array.from({ length: 4 }, () => served(3 * KiB));
    const keys: string[] = [];
    for (const f of files.slice(0, 3)) {
      const l = leaseOf(await a.acquire({ url: f.url, sha256: f.sha256 }));
      keys.push(l.key);
      l.release();
    }
    // A hit touches the entry's marker (its last use survives the restart).
    const t0 = Date.now();
    leaseOf(await a.acquire({ url: files[0]!.url, sha256: files[0]!.sha256 })).release();
    await a.stop();
    await until(
      () => statSync(path.join(dir, 'entries', `${keys[0]}.json`)).mtimeMs >= t0 - 1000,
      'marker touch',
    );
    // Pin the use order: 1 oldest, then 2, then 0.
    const ago = (s: number): Date => new Date(Date.now() - s * 1000);
    await utimes(path.join(dir, 'entries', `${keys[1]}.json`), ago(30), ago(30));
    await utimes(path.join(dir, 'entries', `${keys[2]}.json`), ago(20), ago(20));
    await utimes(path.join(dir, 'entries', `${keys[0]}.json`), ago(10), ago(10));
    // Junk a crash or a person may leave behind.
    const entries = path.join(dir, 'entries');
    await writeFile(path.join(dir, 'incoming', `${keys[0]}-partial`), 'half a download');
    const orphan = `sha256-${'1'.repeat(64)}`;
    await writeFile(path.join(entries, `${orphan}.json`), '{"v":1}');
    const lonely = `sha256-${'2'.repeat(64)}`;
    await writeFile(path.join(entries, lonely), 'object without marker');
    const badSize = `url-${'3'.repeat(64)}`;
    await writeFile(path.join(entries, badSize), 'twelve bytes');
    await writeFile(
      path.join(entries, `${badSize}.json`),
      JSON.stringify({
        v: 1,
        key: badSize,
        size: 99,
        sha256: 'a'.repeat(64),
        mtimeMs: 1,
        urls: [],
      }),
    );
    await writeFile(path.join(entries, 'notes.txt'), 'stray');
    await writeFile(path.join(entries, '.marker-tmp-xyz'), 'temp');

    const b = createInputCache({ dir, size: budget });
    caches.push(b);
    await b.start();
    expect(b.stats()).toMatchObject({ entries: 3, bytes: 9 * KiB });
    expect((await readdir(entries)).sort()).toEqual(keys.flatMap((k) => [k, `${k}.json`]).sort());
    expect(await readdir(path.join(dir, 'incoming'))).toEqual([]);
    const gets = files.map((f) => server.gets(f.p));
    // A new entry evicts the least recently used before the restart: keys[1].
    const l3 = leaseOf(await b.acquire({ url: files[3]!.url, sha256: files[3]!.sha256 }));
    l3.release();
    expect(await objectsOn(b)).toEqual([keys[0], keys[2], l3.key].sort());
    for (const i of [0, 2]) {
      const l = leaseOf(await b.acquire({ url: files[i]!.url, sha256: files[i]!.sha256 }));
      expect(l.hit).toBe(true);
      l.release();
    }
    expect(files.map((f) => server.gets(f.p))).toEqual([gets[0], gets[1], gets[2], gets[3]! + 1]);
  });

  it('evicts every unpinned entry on demand (disk full) and keeps the pinned', async () => {
    const cache = await newCache();
    const files = Array.from({ length: 3 }, () => served(4 * KiB));
    const leases = [];
    for (const f of files)
      leases.push(leaseOf(await cache.acquire({ url: f.url, sha256: f.sha256 })));
    leases[0]!.release();
    leases[1]!.release();
    expect(await cache.evictUnpinned()).toEqual({ entries: 2, bytes: 8 * KiB });
    expect(await objectsOn(cache)).toEqual([leases[2]!.key]);
    leases[2]!.release();
  });
});

describe.skipIf(!s3ServerAvailable)('input cache on an s3 store', () => {
  let s3: S3TestServer;
  let store: S3Store;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['data'] });
    store = createS3Store({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: s3.credentials,
      forcePathStyle: true,
      env: {},
    });
  }, 60_000);
  afterAll(async () => {
    store?.close();
    await s3?.stop();
  });

  it('downloads an object read by many requests once (counted at the server), keyed by its stored sha256', async () => {
    const body = randomBytes(300 * KiB);
    const src = path.join(tmp, `s3-src-${++n}`);
    await writeFile(src, body);
    const url = 's3://data/inputs/shared.dat';
    await store.put(src, url);
    const cache = await newCache({ storeFor: (u) => (u.startsWith('s3:') ? store : storeFor(u)) });
    await s3.clearRequests();
    const all = await Promise.all(Array.from({ length: 25 }, () => cache.acquire({ url })));
    const leases = all.map(leaseOf);
    expect(leases[0]!.key).toBe(`sha256-${sha(body)}`);
    expect(await readFile(leases[0]!.path)).toEqual(body);
    const gets = await s3.requests((r) => isGetObject(r, 'data', 'inputs/shared.dat'));
    expect(gets).toHaveLength(1);
    for (const l of leases) l.release();
  });
});
