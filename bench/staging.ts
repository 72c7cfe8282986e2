/**
 * bench/staging — issue 4's staging budget (DESIGN §10): upload and download throughput to
 * an S3 server through aloft's s3:// store versus the bare AWS SDK in the same run (budget:
 * at least 0.8x), sha256 overhead, and the cache-hit saving: one agent, many attempts
 * reading one object, with its input cache versus without (bytes counted at the server).
 * What each row measures is in bench/staging-run.ts and bench/staging-cache.ts.
 *
 *   npm run build && node dist/bench/staging.js [--small 200x1] [--large 2x256]
 *       [--rounds 3] [--part-mib 8] [--part-concurrency 4] [--files 4]
 *       [--threshold-mib 16] [--consumers 200] [--shared-mib 4] [--slots 4]
 *       [--dir .bench/staging]
 *
 * --small / --large are COUNTxMIB; --consumers attempts read one --shared-mib object on an
 * agent with --slots slots (the cache-hit row). The server is s3rver in a child process on a free
 * loopback port (test/helpers/s3-server.ts), its data in a temp dir removed at the end; the
 * source and downloaded files go to a fresh directory under --dir, also removed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isGetObject, s3ServerAvailable, startS3Server } from '../test/helpers/s3-server.js';
import { formatStagingTable, runStagingBench, type Dataset } from './staging-run.js';

const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    small: { type: 'string', default: '200x1' },
    large: { type: 'string', default: '2x256' },
    rounds: { type: 'string', default: '3' },
    'part-mib': { type: 'string', default: '8' },
    'part-concurrency': { type: 'string', default: '4' },
    files: { type: 'string', default: '4' },
    'threshold-mib': { type: 'string', default: '16' },
    consumers: { type: 'string', default: '200' },
    'shared-mib': { type: 'string', default: '4' },
    slots: { type: 'string', default: '4' },
    dir: { type: 'string', default: '.bench/staging' },
  },
});

function fail(msg: string): never {
  process.stderr.write(`bench/staging: ${msg}\n`);
  process.exit(2);
}

function positiveInt(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(`--${flag} must be a positive integer, got '${raw}'`);
  return n;
}

function dataset(flag: string, raw: string | undefined): Dataset {
  const m = /^(\d+)x(\d+(?:\.\d+)?)$/.exec(raw ?? '');
  if (!m) fail(`--${flag} must be COUNTxMIB (e.g. 200x1), got '${raw}'`);
  const count = Number(m[1]);
  const mib = Number(m[2]);
  if (count < 1 || !(mib > 0)) fail(`--${flag} needs a positive count and size`);
  return { name: `${count} × ${mib} MiB`, count, bytes: Math.round(mib * MiB) };
}

const datasets = [dataset('small', values.small), dataset('large', values.large)];
const rounds = positiveInt('rounds', values.rounds);
const partSize = positiveInt('part-mib', values['part-mib']) * MiB;
const partConcurrency = positiveInt('part-concurrency', values['part-concurrency']);
const fileConcurrency = positiveInt('files', values.files);
const multipartThreshold = positiveInt('threshold-mib', values['threshold-mib']) * MiB;
const consumers = positiveInt('consumers', values.consumers);
const sharedBytes = positiveInt('shared-mib', values['shared-mib']) * MiB;
const slots = positiveInt('slots', values.slots);
if (partSize < 5 * MiB) fail('--part-mib must be at least 5 (the S3 minimum part size)');
if (!s3ServerAvailable) fail('s3rver is not installed (npm ci installs it as a dev dependency)');

// A fresh directory inside --dir, removed at the end (never --dir itself).
await mkdir(path.resolve(values.dir!), { recursive: true });
const dir = await mkdtemp(path.join(path.resolve(values.dir!), 'run-'));
const s3 = await startS3Server({ buckets: ['bench'] });
try {
  const result = await runStagingBench({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: s3.credentials,
    bucket: 'bench',
    dir,
    datasets,
    rounds,
    partSize,
    partConcurrency,
    fileConcurrency,
    multipartThreshold,
    cacheHit: {
      consumers,
      bytes: sharedBytes,
      slots,
      countGets: async (bucket, key) => {
        const gets = await s3.requests((r) => isGetObject(r, bucket, key));
        return { requests: gets.length, bytes: gets.reduce((n, r) => n + (r.bytesOut ?? 0), 0) };
      },
    },
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(
    `bench/staging: s3rver on loopback (child process), ${fileConcurrency} files in flight, ` +
      `parts of ${partSize / MiB} MiB × ${partConcurrency}, multipart from ` +
      `${multipartThreshold / MiB} MiB\n`,
  );
  console.log(formatStagingTable(result));
} finally {
  await s3.stop();
  await rm(dir, { recursive: true, force: true });
}
