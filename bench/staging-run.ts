/**
 * The measurements behind bench/staging (issue 4's staging budget, DESIGN §10): upload and
 * download throughput to an S3 server through aloft's s3:// store versus the bare AWS SDK,
 * same server, same files, same process, rounds interleaved (bare first on even rounds,
 * aloft first on odd ones) and the median round reported; plus what sha256 costs.
 *
 * The bare SDK does what a careful user would write: `@aws-sdk/lib-storage` Upload (single
 * PutObject below one part, parallel parts above) from a file stream, and GetObject piped
 * into a file — with the same part size, part concurrency, files in flight and checksum
 * settings as the store (WHEN_REQUIRED: with the SDK's default, s3rver keeps the aws-chunked
 * framing of streamed uploads as object bytes). aloft's store does more: sha256 of every
 * byte, x-amz-meta-sha256 on upload and a HeadObject check after it; on download a temp
 * file, verification against the metadata and rename. Variant rows show two choices: uploads given the sha256
 * (PutOptions.sha256: no hashing pass before a multipart upload) and downloads with fsync
 * before the rename (the store's `fsync` option, off by default).
 *
 * The cache-hit row (a shared input read by many attempts on one agent, with the agent's
 * input cache versus without) is measured by staging-cache.ts when `cacheHit` is given.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Store, type S3Store } from '../lib/store/index.js';
import { runCacheHitBench, type CacheHitOptions, type CacheHitResult } from './staging-cache.js';

export interface Dataset {
  /** e.g. '200 × 1 MiB' */
  name: string;
  count: number;
  bytes: number;
}

export interface StagingBenchOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
  /** Scratch directory for the source files and downloads. */
  dir: string;
  datasets: Dataset[];
  rounds: number;
  partSize: number;
  partConcurrency: number;
  /** Files in flight at once (the agent's staging parallelism). */
  fileConcurrency: number;
  multipartThreshold: number;
  /** Progress lines (to stderr in the CLI). */
  progress?: (line: string) => void;
  /** The cache-hit row's workload (staging-cache.ts); omitted: the row is not measured. */
  cacheHit?: Pick<CacheHitOptions, 'consumers' | 'bytes' | 'slots' | 'countGets'>;
}

export interface ThroughputRow {
  op: 'upload' | 'download';
  dataset: string;
  /** What differs from the plain row ('' for the plain one). */
  variant: string;
  /** MB/s (MiB per second), median over rounds; undefined when not measured. */
  bareMBps?: number;
  aloftMBps?: number;
  /** CPU time of this process (user + system) per MiB moved, median over rounds. */
  bareCpuMsPerMiB?: number;
  aloftCpuMsPerMiB?: number;
}

interface Sample {
  mbps: number;
  cpuMsPerMiB: number;
}

export interface StagingBenchResult {
  rows: ThroughputRow[];
  /** sha256 alone over the same files' bytes (in memory), MiB/s. */
  sha256MBps: number;
  /** Shared input on one agent, with its cache and without (when `cacheHit` was given). */
  cacheHit?: CacheHitResult;
  rounds: number;
}

const MiB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Run `fn` over `items` with at most `n` in flight. */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Random-content files (incompressible, unique per file). */
async function makeFiles(dir: string, ds: Dataset): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const block = randomFillSync(Buffer.alloc(Math.max(1, Math.min(ds.bytes, 4 * MiB))));
  for (let i = 0; i < ds.count; i++) {
    const file = path.join(dir, `f${i}.bin`);
    const fh = await open(file, 'w');
    try {
      for (let written = 0; written < ds.bytes;) {
        const n = Math.min(block.length, ds.bytes - written);
        // Unique per file and offset: a counter stamped into a random block.
        for (let o = 0; o + 8 <= n; o += 4096) block.writeDoubleLE(i * 1e9 + written + o, o);
        await fh.write(block, 0, n);
        written += n;
      }
    } finally {
      await fh.close();
    }
    files.push(file);
  }
  return files;
}

export async function runStagingBench(o: StagingBenchOptions): Promise<StagingBenchResult> {
  const say = o.progress ?? ((): void => undefined);
  // As the store does: no "SDK will require Node 22" warning in the middle of the table.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const client = new S3Client({
    endpoint: o.endpoint,
    region: o.region,
    credentials: o.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const storeOptions = {
    endpoint: o.endpoint,
    region: o.region,
    credentials: o.credentials,
    forcePathStyle: true,
    env: {},
    partSize: o.partSize,
    partConcurrency: o.partConcurrency,
    multipartThreshold: o.multipartThreshold,
  };
  const store: S3Store = createS3Store(storeOptions);
  const storeFsync: S3Store = createS3Store({ ...storeOptions, fsync: true });
  const rows: ThroughputRow[] = [];
  let hashBytes = 0;
  let hashMs = 0;
  let cacheHit: CacheHitResult | undefined;
  const url = (ds: number, i: number): string => `s3://${o.bucket}/aloft/d${ds}/f${i}.bin`;

  try {
    for (const [di, ds] of o.datasets.entries()) {
      const src = path.join(o.dir, `src-${di}`);
      const dl = path.join(o.dir, `dl-${di}`);
      say(`bench/staging: writing ${ds.name}`);
      const files = await makeFiles(src, ds);
      const idx = files.map((_, i) => i);
      const total = ds.count * ds.bytes;

      // sha256 alone: the hash function over the files' bytes, already in memory.
      const shas: string[] = [];
      for (const f of files) {
        const bytes = await readFile(f);
        const h0 = performance.now();
        shas.push(createHash('sha256').update(bytes).digest('hex'));
        hashMs += performance.now() - h0;
      }
      hashBytes += total;

      const timed = async (fn: () => Promise<void>): Promise<Sample> => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await fn();
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(c0);
        return {
          mbps: total / MiB / (ms / 1000),
          cpuMsPerMiB: (cpu.user + cpu.system) / 1000 / (total / MiB),
        };
      };
      const bareUp = (): Promise<void> =>
        pool(idx, o.fileConcurrency, async (i) => {
          await new Upload({
            client,
            params: {
              Bucket: o.bucket,
              Key: `bare/d${di}/f${i}.bin`,
              Body: createReadStream(files[i]!),
            },
            partSize: o.partSize,
            queueSize: o.partConcurrency,
          }).done();
        });
      const aloftUp = (given: boolean) => (): Promise<void> =>
        pool(idx, o.fileConcurrency, async (i) => {
          await store.put(files[i]!, url(di, i), given ? { sha256: shas[i]! } : {});
        });
      const bareDown = (): Promise<void> =>
        pool(idx, o.fileConcurrency, async (i) => {
          const res = await client.send(
            new GetObjectCommand({ Bucket: o.bucket, Key: `aloft/d${di}/f${i}.bin` }),
          );
          await pipeline(res.Body as Readable, createWriteStream(path.join(dl, `b${i}`)));
        });
      const aloftDown = (s: S3Store) => (): Promise<void> =>
        pool(idx, o.fileConcurrency, async (i) => {
          await s.get(url(di, i), path.join(dl, `a${i}`));
        });

      const m = {
        up: { bare: [] as Sample[], aloft: [] as Sample[], given: [] as Sample[] },
        down: { bare: [] as Sample[], aloft: [] as Sample[], fsync: [] as Sample[] },
      };
      for (let r = 0; r < o.rounds; r++) {
        say(`bench/staging: ${ds.name}, round ${r + 1} of ${o.rounds}`);
        const bareFirst = r % 2 === 0;
        const up: [Sample[], () => Promise<void>][] = [
          [m.up.bare, bareUp],
          [m.up.aloft, aloftUp(false)],
          [m.up.given, aloftUp(true)],
        ];
        for (const [xs, fn] of bareFirst ? up : up.reverse()) xs.push(await timed(fn));
        const down: [Sample[], () => Promise<void>][] = [
          [m.down.bare, bareDown],
          [m.down.aloft, aloftDown(store)],
          [m.down.fsync, aloftDown(storeFsync)],
        ];
        for (const [xs, fn] of bareFirst ? down : down.reverse()) {
          await rm(dl, { recursive: true, force: true });
          await mkdir(dl, { recursive: true });
          xs.push(await timed(fn));
        }
      }
      const row = (op: ThroughputRow['op'], variant: string, bare: Sample[], aloft: Sample[]): ThroughputRow => ({
        op, dataset: ds.name, variant,
        bareMBps: median(bare.map((x) => x.mbps)),
        aloftMBps: median(aloft.map((x) => x.mbps)),
        bareCpuMsPerMiB: median(bare.map((x) => x.cpuMsPerMiB)),
        aloftCpuMsPerMiB: median(aloft.map((x) => x.cpuMsPerMiB)),
      }); // prettier-ignore
      rows.push(
        row('upload', '', m.up.bare, m.up.aloft),
        row('upload', 'sha256 given', m.up.bare, m.up.given),
        row('download', '', m.down.bare, m.down.aloft),
        row('download', 'fsync', m.down.bare, m.down.fsync),
      );
      await rm(src, { recursive: true, force: true });
      await rm(dl, { recursive: true, force: true });
    }
    if (o.cacheHit) {
      const c = o.cacheHit;
      say(`bench/staging: cache hit, ${c.consumers} attempts reading one object`);
      cacheHit = await runCacheHitBench({
        ...c,
        store,
        bucket: o.bucket,
        dir: o.dir,
        rounds: o.rounds,
      });
    }
  } finally {
    store.close();
    storeFsync.close();
    client.destroy();
  }
  return {
    rows,
    sha256MBps: hashBytes / MiB / (hashMs / 1000),
    ...(cacheHit ? { cacheHit } : {}),
    rounds: o.rounds,
  };
}

/** MiB with at most one decimal ('4', '0.3', '1.5'). */
const mibText = (bytes: number): string => String(Math.round((bytes / MiB) * 10) / 10);

const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined ? '—' : x.toFixed(digits);

/** The table bench/staging prints. */
export function formatStagingTable(r: StagingBenchResult): string {
  const head = [
    'operation',
    'files',
    'variant',
    'bare SDK MB/s',
    'aloft MB/s',
    'ratio',
    'CPU ms/MiB bare',
    'aloft',
    'budget',
  ];
  const body: string[][] = r.rows.map((row) => {
    // Rounded down, so a ratio shown as 0.80x never hides a miss.
    const ratio =
      row.bareMBps !== undefined && row.aloftMBps !== undefined
        ? Math.floor((row.aloftMBps / row.bareMBps) * 100) / 100
        : undefined;
    const plain = row.variant === '';
    return [
      row.op,
      row.dataset,
      row.variant || '-',
      fmt(row.bareMBps),
      fmt(row.aloftMBps),
      ratio === undefined ? '—' : `${ratio.toFixed(2)}x`,
      fmt(row.bareCpuMsPerMiB, 2),
      fmt(row.aloftCpuMsPerMiB, 2),
      !plain || ratio === undefined ? '' : ratio >= 0.8 ? 'ok (>= 0.8x)' : 'MISSED (< 0.8x)',
    ];
  });
  // The agent cache's row: a shared input read by many attempts on one agent.
  const c = r.cacheHit;
  body.push(
    c === undefined
      ? ['cache hit', 'shared input', '-', '—', '—', '—', '—', '—', 'not measured']
      : [
          'cache hit',
          `${c.consumers} × ${mibText(c.bytes)} MiB`,
          'shared input',
          '—',
          '—',
          '—',
          '—',
          '—',
          `${c.withCache.downloads} download(s) instead of ${c.withoutCache.downloads}, ` +
            `wall ${(c.withCache.wallMs / c.withoutCache.wallMs).toFixed(2)}x`,
        ],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i >= 3 && i <= 7 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  out.push('');
  out.push(`sha256 alone (in memory): ${fmt(r.sha256MBps)} MB/s`);
  for (const row of r.rows) {
    if (row.variant !== '' || row.aloftMBps === undefined) continue;
    // Time hashing would take, as a share of the store's transfer time; a multipart upload
    // without a given sha256 hashes twice (the pass before CreateMultipartUpload + in flight).
    const share = (row.aloftMBps / r.sha256MBps) * 100;
    out.push(
      `  ${row.op} ${row.dataset}: hashing is ~${share.toFixed(0)}% of the store's time per pass`,
    );
  }
  if (c !== undefined) {
    const mode = (m: CacheHitResult['withCache']): string =>
      `wall ${(m.wallMs / 1000).toFixed(2)} s, ${m.downloads} GetObject(s), ` +
      `${mibText(m.bytesFetched)} MiB from the server, ${m.hits} cache hit(s)`;
    out.push(
      `cache hit: one agent, ${c.consumers} attempts (${c.slots} at once) staging the same ` +
        `${mibText(c.bytes)} MiB s3:// object and checking its sha256`,
    );
    out.push(`  with the agent cache:   ${mode(c.withCache)}`);
    out.push(`  without (cache: false): ${mode(c.withoutCache)}`);
    out.push(
      `  saving: ${mibText(c.savedBytes)} MiB not re-downloaded, ` +
        `${((1 - c.withCache.wallMs / c.withoutCache.wallMs) * 100).toFixed(0)}% of the wall time`,
    );
  }
  out.push(
    `median of ${r.rounds} round(s); MB/s = MiB per second of wall time; CPU = this ` +
      'process (user + system) per MiB moved, the server not included',
  );
  return out.join('\n');
}
