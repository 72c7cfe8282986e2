import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isGetObject,
  s3ServerAvailable,
  startS3Server,
  type S3TestServer,
} from '../test/helpers/s3-server.js';
import { formatStagingTable, runStagingBench, type StagingBenchResult } from './staging-run.js';

const MiB = 1024 * 1024;
const CONSUMERS = 12;

describe.skipIf(!s3ServerAvailable)('bench/staging at a tiny size', () => {
  let s3: S3TestServer;
  let dir: string;
  let result: StagingBenchResult;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['bench'] });
    dir = await mkdtemp(path.join(tmpdir(), 'aloft-bench-staging-'));
    result = await runStagingBench({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      bucket: 'bench',
      dir,
      datasets: [
        { name: '3 × 64 KiB', count: 3, bytes: 64 * 1024 },
        { name: '1 × 11 MiB', count: 1, bytes: 11 * MiB },
      ],
      rounds: 1,
      partSize: 5 * MiB,
      partConcurrency: 2,
      fileConcurrency: 2,
      multipartThreshold: 6 * MiB,
      cacheHit: {
        consumers: CONSUMERS,
        bytes: 256 * 1024,
        slots: 3,
        countGets: async (bucket, key) => {
          const gets = await s3.requests((r) => isGetObject(r, bucket, key));
          return { requests: gets.length, bytes: gets.reduce((n, r) => n + (r.bytesOut ?? 0), 0) };
        },
      },
    });
  });
  afterAll(async () => {
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('measures every row, uploads through both paths, and cleans its scratch files', async () => {
    expect(result.rows.map((r) => `${r.op} ${r.dataset} ${r.variant}`)).toEqual([
      'upload 3 × 64 KiB ',
      'upload 3 × 64 KiB sha256 given',
      'download 3 × 64 KiB ',
      'download 3 × 64 KiB fsync',
      'upload 1 × 11 MiB ',
      'upload 1 × 11 MiB sha256 given',
      'download 1 × 11 MiB ',
      'download 1 × 11 MiB fsync',
    ]);
    for (const r of result.rows) {
      expect(r.bareMBps).toBeGreaterThan(0);
      expect(r.aloftMBps).toBeGreaterThan(0);
      expect(r.bareCpuMsPerMiB).toBeGreaterThan(0);
      expect(r.aloftCpuMsPerMiB).toBeGreaterThan(0);
    }
    expect(result.sha256MBps).toBeGreaterThan(0);
    // The cache-hit workload: one download with the cache, one per attempt without,
    // counted at the server; every attempt after the first was a hit.
    expect(result.cacheHit).toMatchObject({
      consumers: CONSUMERS,
      bytes: 256 * 1024,
      withCache: { downloads: 1, bytesFetched: 256 * 1024, hits: CONSUMERS - 1 },
      withoutCache: { downloads: CONSUMERS, bytesFetched: CONSUMERS * 256 * 1024, hits: 0 },
      savedBytes: (CONSUMERS - 1) * 256 * 1024,
    });
    expect(result.cacheHit!.withCache.wallMs).toBeGreaterThan(0);
    expect(result.cacheHit!.withoutCache.wallMs).toBeGreaterThan(0);
    // The bare SDK and the store really went to the server: a multipart upload each.
    const reqs = await s3.requests();
    const creates = reqs.filter((r) => r.method === 'POST' && 'uploads' in r.query);
    expect(creates.map((r) => r.key.split('/')[0]).sort()).toEqual(['aloft', 'aloft', 'bare']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('prints one table line per row, the cache-hit row and lines, and the sha256 lines', () => {
    const lines = formatStagingTable(result).split('\n');
    expect(lines[0]).toMatch(
      /^operation +files +variant +bare SDK MB\/s +aloft MB\/s +ratio +CPU ms\/MiB bare +aloft +budget$/,
    );
    expect(lines[1]).toMatch(/^[- ]+$/);
    const rows = lines.slice(2, 2 + result.rows.length + 1);
    for (const line of rows.slice(0, -1)) {
      expect(line).toMatch(
        /^(upload|download) +\d+ × [\d.]+ [KM]iB +\S.* \d+\.\d\dx +\d+\.\d\d +\d+\.\d\d/,
      );
    }
    expect(rows.filter((l) => /ok \(>= 0\.8x\)|MISSED/.test(l))).toHaveLength(4);
    expect(rows.at(-1)).toMatch(
      new RegExp(
        `^cache hit +${CONSUMERS} × 0\\.3 MiB +shared input .* 1 download\\(s\\) instead of ${CONSUMERS}, wall \\d+\\.\\d\\dx$`,
      ),
    );
    const at = lines.findIndex((l) => l.startsWith('cache hit: one agent, '));
    expect(lines[at]).toBe(
      `cache hit: one agent, ${CONSUMERS} attempts (3 at once) staging the same 0.3 MiB s3:// object and checking its sha256`,
    );
    expect(lines[at + 1]).toMatch(
      new RegExp(
        `^  with the agent cache: +wall \\d+\\.\\d\\d s, 1 GetObject\\(s\\), 0\\.3 MiB from the server, ${CONSUMERS - 1} cache hit\\(s\\)$`,
      ),
    );
    expect(lines[at + 2]).toMatch(
      new RegExp(
        `^  without \\(cache: false\\): wall \\d+\\.\\d\\d s, ${CONSUMERS} GetObject\\(s\\), 3 MiB from the server, 0 cache hit\\(s\\)$`,
      ),
    );
    expect(lines[at + 3]).toMatch(
      /^ {2}saving: 2\.8 MiB not re-downloaded, -?\d+% of the wall time$/,
    );
    expect(lines).toContain('');
    expect(lines.some((l) => /^sha256 alone \(in memory\): \d+ MB\/s$/.test(l))).toBe(true);
    expect(
      lines.filter((l) => /hashing is ~\d+% of the store's time per pass$/.test(l)),
    ).toHaveLength(4);
    expect(lines.at(-1)).toMatch(
      /^median of 1 round\(s\); MB\/s = MiB per second of wall time; CPU/,
    );
  });
});
