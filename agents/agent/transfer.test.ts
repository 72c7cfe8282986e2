/**
 * Transfer and cleanup jobs run by the agent: real files, a real local HTTP server.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTransferExecutor } from '../executors/index.js';
import { plannedJob, startTestAgent, type TestAgent } from '../testing/index.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const url = (p: string): string => pathToFileURL(p).href;

let server: http.Server;
let http503 = 0;
let root: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/radar.dat') {
      res.writeHead(200, { 'content-length': '11' });
      res.end('radar bytes');
    } else if (req.url === '/down.dat') {
      http503++;
      res.writeHead(503);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

let t: TestAgent | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Fast retries so failover tests do not wait on production backoff. */
const fastTransfers = () =>
  createTransferExecutor({ backoff: { initialMs: 1, maxMs: 5, jitter: 0.5 } });

async function setup(): Promise<{ t: TestAgent; src: string; dst: string }> {
  t = await startTestAgent({ executors: { transfer: fastTransfers() } });
  const src = path.join(t.dir, 'replicas');
  const dst = path.join(t.dir, 'site-store');
  await mkdir(src, { recursive: true });
  return { t, src, dst };
}

describe('transfer jobs', () => {
  it('copies files with checksum verification, several in parallel', async () => {
    const { t, src, dst } = await setup();
    const files = Array.from({ length: 6 }, (_, i) => ({ lfn: `f${i}.txt`, body: `file ${i}\n` }));
    for (const f of files) await writeFile(path.join(src, f.lfn), f.body);
    const job = plannedJob({
      id: 'stage_in_local_0',
      kind: 'stage_in',
      transfers: files.map((f) => ({
        lfn: f.lfn,
        sources: [{ url: url(path.join(src, f.lfn)), site: 'local' }],
        dest: { url: url(path.join(dst, 'run', f.lfn)), site: 'cloud' },
        checksum: { type: 'sha256' as const, value: sha(f.body) },
      })),
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    expect(outcome.ok).toBe(true);
    expect(outcome.record.executor).toBe('transfer');
    expect(outcome.record.transfers).toHaveLength(6);
    for (const f of files) {
      expect(await readFile(path.join(dst, 'run', f.lfn), 'utf8')).toBe(f.body);
      expect(outcome.record.transfers.find((r) => r.lfn === f.lfn)).toMatchObject({
        src: url(path.join(src, f.lfn)),
        dst: url(path.join(dst, 'run', f.lfn)),
        bytes: f.body.length,
        sha256: sha(f.body),
      });
    }
    expect(outcome.record.transfers.every((r) => r.failedSources === undefined)).toBe(true);
  });

  it('fails over to the next source when one is missing or down', async () => {
    const { t, src, dst } = await setup();
    await writeFile(path.join(src, 'b.dat'), 'second copy');
    const job = plannedJob({
      id: 'stage_in_failover',
      kind: 'stage_in',
      transfers: [
        {
          lfn: 'b.dat',
          sources: [
            { url: url(path.join(src, 'missing', 'b.dat')), site: 'a' },
            { url: `${root}/down.dat`, site: 'b' },
            { url: url(path.join(src, 'b.dat')), site: 'c' },
          ],
          dest: { url: url(path.join(dst, 'b.dat')), site: 'local' },
        },
        {
          lfn: 'radar.dat',
          sources: [{ url: `${root}/radar.dat`, site: 'edge' }],
          dest: { url: url(path.join(dst, 'radar.dat')), site: 'local' },
        },
      ],
    });
    const before = http503;
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    expect(outcome.ok).toBe(true);
    expect(await readFile(path.join(dst, 'b.dat'), 'utf8')).toBe('second copy');
    expect(await readFile(path.join(dst, 'radar.dat'), 'utf8')).toBe('radar bytes');
    const rec = outcome.record.transfers.find((r) => r.lfn === 'b.dat');
    expect(rec?.src).toBe(url(path.join(src, 'b.dat')));
    expect(rec?.failedSources).toEqual([
      url(path.join(src, 'missing', 'b.dat')),
      `${root}/down.dat`,
    ]);
    // the unavailable source was retried (3 tries); the missing one was not
    expect(http503 - before).toBe(3);
  });

  it('a checksum mismatch is retried, then fails as data naming lfn, source, expected and actual', async () => {
    const { t, src, dst } = await setup();
    await writeFile(path.join(src, 'c.dat'), 'actual content');
    const expected = sha('what the catalog says');
    const job = plannedJob({
      id: 'stage_in_bad',
      kind: 'stage_in',
      transfers: [
        {
          lfn: 'c.dat',
          sources: [{ url: url(path.join(src, 'c.dat')), site: 'local' }],
          dest: { url: url(path.join(dst, 'c.dat')), site: 'cloud' },
          checksum: { type: 'sha256', value: expected },
        },
      ],
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('data');
    const m = outcome.failure.message;
    expect(m).toContain('c.dat');
    expect(m).toContain(url(path.join(src, 'c.dat')));
    expect(m).toContain(`expected sha256 ${expected}`);
    expect(m).toContain(`got ${sha('actual content')}`);
    // nothing corrupt became visible at the destination
    expect(await readdir(dst).catch(() => [])).toEqual([]);
  });

  it('every source missing → data failure with the lfn in missingFiles', async () => {
    const { t, src, dst } = await setup();
    const job = plannedJob({
      id: 'stage_out_missing',
      kind: 'stage_out',
      transfers: [
        {
          lfn: 'gone.dat',
          sources: [{ url: url(path.join(src, 'gone.dat')), site: 'local' }],
          dest: { url: url(path.join(dst, 'gone.dat')), site: 'out' },
        },
      ],
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure).toMatchObject({ kind: 'data', missingFiles: ['gone.dat'] });
  });

  it('a source that stays unavailable → infrastructure failure', async () => {
    const { t, dst } = await setup();
    const job = plannedJob({
      id: 'inter_site_down',
      kind: 'inter_site',
      transfers: [
        {
          lfn: 'd.dat',
          sources: [{ url: `${root}/down.dat`, site: 'edge' }],
          dest: { url: url(path.join(dst, 'd.dat')), site: 'cloud' },
        },
      ],
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure).toMatchObject({ kind: 'infrastructure', code: 'UNAVAILABLE' });
  });
});

describe('cleanup jobs', () => {
  it('delete each url; already missing ones are fine', async () => {
    const { t, dst } = await setup();
    await mkdir(dst, { recursive: true });
    await writeFile(path.join(dst, 'x'), 'x');
    await writeFile(path.join(dst, 'keep'), 'k');
    const job = plannedJob({
      id: 'cleanup_1',
      kind: 'cleanup',
      deletes: [
        { lfn: 'x', url: url(path.join(dst, 'x')) },
        { lfn: 'y', url: url(path.join(dst, 'never-existed')) },
      ],
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    expect(outcome.ok).toBe(true);
    expect(outcome.record.executor).toBe('cleanup');
    expect(await readdir(dst)).toEqual(['keep']);
  });

  it('a store that refuses (read-only http) → infrastructure failure', async () => {
    const { t } = await setup();
    const job = plannedJob({
      id: 'cleanup_2',
      kind: 'cleanup',
      deletes: [{ lfn: 'r', url: `${root}/radar.dat` }],
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.failure.kind).toBe('infrastructure');
    expect(outcome.failure.message).toMatch(/http stores are read-only/);
  });
});
