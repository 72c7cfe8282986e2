/**
 * Download once at scale (issue 4, "Done means"): a file consumed by 500 jobs on one agent is
 * downloaded once, counted at the S3 server. A real s3rver (child process) holds the input;
 * the replica catalog points at it (s3://), every job reads it in place (`bypass`, so each
 * job stages it itself through the agent's input cache); `aloft run` (the built binary,
 * embedded mode: one agent) gets the server's AWS_* variables in its environment and finds
 * the store through them. The server's request log shows exactly one GetObject for the key;
 * the invocation records say `miss` once and `hit` 499 times.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Store } from '../lib/store/index.js';
import type { PlannedJob } from '../proto/index.js';
import { aloft, BIN } from './helpers/cli.js';
import {
  isGetObject,
  s3ServerAvailable,
  startS3Server,
  type S3TestServer,
} from './helpers/s3-server.js';
import { journal, ofType, tmpDir, write } from './run-helpers.js';

// The store below is made in this process: no "SDK will require Node 22" notice in the output.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const JOBS = 500;
const BUCKET = 'aloft-inputs';
const KEY = 'shared/calibration.dat';

function workflowYaml(sha256: string): string {
  const jobs = Array.from(
    { length: JOBS },
    (_, i) =>
      `  - { id: read${i}, name: check, arguments: [-c, "echo '${sha256}  shared.dat' | sha256sum -c --status"], uses: [{ lfn: shared.dat, type: input, bypass: true }] }`,
  );
  return `pegasus: "5.0"
name: fanin
replicaCatalog:
  replicas:
    - lfn: shared.dat
      pfns: [{ site: cloud, pfn: "s3://${BUCKET}/${KEY}" }]
      checksum: { sha256: ${sha256} }
transformationCatalog:
  transformations:
    - { name: check, sites: [{ name: local, pfn: /bin/sh, type: installed }] }
jobs:
${jobs.join('\n')}
`;
}

describe.skipIf(!s3ServerAvailable)('a file consumed by 500 jobs on one agent', () => {
  let s3: S3TestServer;
  let tmp: string;

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} missing: run 'npm run build' first`);
    s3 = await startS3Server({ buckets: [BUCKET] });
    tmp = tmpDir('download-once');
  });
  afterAll(async () => {
    await s3?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'is downloaded once (one GetObject at the server); 499 attempts hit the cache',
    {
      timeout: 300_000,
    },
    async () => {
      const body = randomBytes(1024 * 1024);
      const sha256 = createHash('sha256').update(body).digest('hex');
      const src = path.join(tmp, 'calibration.dat');
      await writeFile(src, body);
      const store = createS3Store({ env: s3.env });
      try {
        await store.put(src, `s3://${BUCKET}/${KEY}`);
      } finally {
        store.close();
      }
      await s3.clearRequests();

      const wf = write(tmp, 'fanin.yml', workflowYaml(sha256));
      const runDir = path.join(tmp, 'run');
      const r = await aloft(['run', wf, '--run-dir', runDir, '--slots', '8'], {
        cwd: tmp,
        env: { ...s3.env, ALOFT_RETRY_DELAY_MS: '10' },
        timeoutMs: 280_000,
      });
      expect(r.stderr).toBe('');
      expect(r.code, r.stdout).toBe(0);

      // Counted at the server: one download of the object, whatever else was asked.
      const gets = await s3.requests((q) => isGetObject(q, BUCKET, KEY));
      expect(gets).toHaveLength(1);
      expect(gets[0]).toMatchObject({ status: 200, bytesOut: body.length });

      // Every job ran once and succeeded; one attempt fetched, the others hit the cache.
      const plan = JSON.parse(readFileSync(path.join(runDir, 'plan.json'), 'utf8')) as {
        jobs: PlannedJob[];
      };
      expect(plan.jobs.filter((j) => j.kind === 'compute')).toHaveLength(JOBS);
      expect(plan.jobs.some((j) => j.kind === 'stage_in')).toBe(false);
      const events = journal(runDir);
      expect(ofType(events, 'job_retry')).toEqual([]);
      expect(ofType(events, 'job_succeeded')).toHaveLength(plan.jobs.length);
      const finished = ofType(events, 'attempt_finished');
      expect(finished).toHaveLength(plan.jobs.length);
      const uses = finished.flatMap((e) =>
        e.record.transfers.filter((t) => t.lfn === 'shared.dat'),
      );
      expect(uses).toHaveLength(JOBS);
      expect(uses.every((t) => t.src === `s3://${BUCKET}/${KEY}` && t.sha256 === sha256)).toBe(
        true,
      );
      expect(uses.filter((t) => t.cache === 'miss')).toHaveLength(1);
      expect(uses.filter((t) => t.cache === 'hit')).toHaveLength(JOBS - 1);
    },
  );
});
