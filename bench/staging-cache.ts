/**
 * bench/staging's cache-hit row (issue 4, DESIGN §10 "no re-download of a cached input"): a
 * shared-input workload — N attempts on one agent, each staging the same s3:// object into
 * its scratch and checking its sha256 — run on a real agent (in-process transport, real
 * processes, the s3:// store against the bench's server) with its input cache and without
 * (`cache: false`: every attempt downloads the object). Reported per mode: wall time from
 * the first offer to the last result, GetObject requests and bytes counted at the server,
 * and the saving. Each round starts a fresh agent with a cold cache; rounds alternate which
 * mode goes first and the median wall time is reported.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PlannedFile, PlannedJob } from '../proto/index.js';
import { processJob, startTestAgent, type TestAgent } from '../agents/testing/index.js';
import { registerStore, type S3Store } from '../lib/store/index.js';

export interface CacheHitOptions {
  /** The s3:// store the agent reads through (registered for `s3:` in this process). */
  store: S3Store;
  bucket: string;
  /** Scratch directory (agents' work dirs are made and removed inside it). */
  dir: string;
  /** Attempts reading the shared object. */
  consumers: number;
  /** Size of the shared object. */
  bytes: number;
  /** Agent slots (attempts at once). */
  slots: number;
  rounds: number;
  /** GetObject requests of `bucket`/`key` answered by the server so far, and their bytes. */
  countGets: (bucket: string, key: string) => Promise<{ requests: number; bytes: number }>;
}

export interface CacheModeResult {
  /** Median over rounds. */
  wallMs: number;
  /** Per round (the same in every round): GetObject requests and bytes at the server. */
  downloads: number;
  bytesFetched: number;
  /** Stage-ins the invocation records mark as cache hits. */
  hits: number;
}

export interface CacheHitResult {
  consumers: number;
  bytes: number;
  slots: number;
  withCache: CacheModeResult;
  withoutCache: CacheModeResult;
  /** Bytes not fetched from the server thanks to the cache. */
  savedBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Offer `jobs` to the agent keeping at most `slots` in flight; the stage-in records. */
async function runAll(t: TestAgent, jobs: PlannedJob[], slots: number): Promise<number> {
  let next = 0;
  let hits = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      for (let tries = 0; ; tries++) {
        const { key, reply } = await t.driver.offer(job);
        if (reply.accepted) {
          const r = await t.driver.result(key, 120_000);
          if (!r.outcome.ok) {
            throw new Error(`bench/staging: ${job.id} failed: ${r.outcome.failure?.message}`);
          }
          if (r.outcome.record.transfers.some((x) => x.cache === 'hit')) hits++;
          break;
        }
        // A slot frees just after its result is sent: offer again shortly.
        if (tries > 1000) throw new Error(`bench/staging: ${job.id} refused: ${reply.reason}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  };
  await Promise.all(Array.from({ length: slots }, worker));
  return hits;
}

export async function runCacheHitBench(o: CacheHitOptions): Promise<CacheHitResult> {
  registerStore(o.store);
  const key = `aloft/cache-hit/shared-${randomBytes(4).toString('hex')}.bin`;
  const url = `s3://${o.bucket}/${key}`;
  const body = randomBytes(o.bytes);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const src = path.join(o.dir, 'shared.bin');
  await writeFile(src, body);
  await o.store.put(src, url, { sha256 });
  await rm(src, { force: true });

  const input: PlannedFile = {
    lfn: 'shared.bin',
    url,
    size: o.bytes,
    checksum: { type: 'sha256', value: sha256 },
  };
  const jobs = Array.from({ length: o.consumers }, (_, i) =>
    processJob(
      `reader-${i}`,
      ['/bin/sh', '-c', `echo '${sha256}  shared.bin' | sha256sum -c --status`],
      { inputs: [input] },
    ),
  );

  const modes = { cache: [] as number[], none: [] as number[] };
  const last: Record<'cache' | 'none', Omit<CacheModeResult, 'wallMs'>> = {
    cache: { downloads: 0, bytesFetched: 0, hits: 0 },
    none: { downloads: 0, bytesFetched: 0, hits: 0 },
  };
  for (let r = 0; r < o.rounds; r++) {
    const order: ('cache' | 'none')[] = r % 2 === 0 ? ['cache', 'none'] : ['none', 'cache'];
    for (const mode of order) {
      const dir = await mkdtemp(path.join(o.dir, `agent-${mode}-`));
      const t = await startTestAgent({
        dir,
        slots: o.slots,
        ...(mode === 'none' ? { cache: false as const } : {}),
      });
      try {
        const before = await o.countGets(o.bucket, key);
        const t0 = performance.now();
        const hits = await runAll(t, jobs, o.slots);
        modes[mode].push(performance.now() - t0);
        const after = await o.countGets(o.bucket, key);
        last[mode] = {
          downloads: after.requests - before.requests,
          bytesFetched: after.bytes - before.bytes,
          hits,
        };
      } finally {
        await t.close(); // removes `dir`
      }
    }
  }
  await o.store.delete(url);
  const withCache = { wallMs: median(modes.cache), ...last.cache };
  const withoutCache = { wallMs: median(modes.none), ...last.none };
  return {
    consumers: o.consumers,
    bytes: o.bytes,
    slots: o.slots,
    withCache,
    withoutCache,
    savedBytes: withoutCache.bytesFetched - withCache.bytesFetched,
  };
}
