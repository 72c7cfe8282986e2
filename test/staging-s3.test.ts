/**
 * End to end: S3 staging across two sites (issue 4), against a real S3-protocol server
 * (s3rver in a child process, test/helpers/s3-server.ts), with real `aloft` processes.
 *
 * Every run gives the aloft processes S3 credentials and an endpoint nothing listens on
 * (loopback port 1: traffic never leaves loopback, and never reaches AWS). The real
 * endpoint, region and path style come only from the site catalog's aloft.s3.* profiles,
 * carried on each job as StoreAccess — so a run that works proves the agents honour them.
 *
 *  - radar (examples/radar) with an s3:// sharedScratch on each of two sites (edge, hpc),
 *    outputs to a local site: succeeds, outputs byte-identical to a plain `aloft run`,
 *    the output replica catalog has each output's sha256, and the staged objects are in
 *    the bucket with the sha256 the journal recorded for them;
 *  - a WfCommons replay (real sizes × a scale, a few MB in all) through the distributed
 *    runtime: nats-server, `aloft scheduler`, one `aloft agent` per site, staging through S3;
 *  - corruption: an object altered in the store (body replaced with the bare SDK, its
 *    sha256 metadata kept) after its producer uploaded it and before its consumer stages it:
 *    every attempt of the consumer fails as a data error naming the file, the URL and both
 *    checksums; data failures spend retries, so the workflow fails (exit 1);
 *  - a flaky store: the scans' replicas sit in an S3 archive reached through a
 *    fault-injecting proxy that answers 503s, cuts a body mid-way and stalls one for a few
 *    seconds: the transfers are retried (the proxy saw the faults), the workflow succeeds
 *    with the plain run's outputs, and the stalled stage-in job's progress (files done of
 *    its total) was journaled while it ran.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../proto/index.js';
import { readJournalSync, type JournalEvent } from '../services/journal/index.js';
import { runPaths } from '../services/run/index.js';
import { BIN, REPO, SHARED, aloft } from './helpers/cli.js';
import {
  daemon,
  type Daemon,
  SCHEDULER_READY,
  schedulerAddress,
  waitForAgents,
} from './helpers/daemon.js';
import { startFlakyHttpProxy, type FlakyHttpProxy } from './helpers/flaky-http-proxy.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { expectSyntheticOutputs, finalProducts } from './helpers/replay-check.js';
import { s3ServerAvailable, startS3Server, type S3TestServer } from './helpers/s3-server.js';

const RADAR = path.join(REPO, 'examples', 'radar');
const BUCKET = 'stage';
const ARCHIVE = 'archive';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

type Yaml = Record<string, unknown>;

interface SiteSpec {
  name: string;
  /** s3:// URL of the site's sharedScratch file server, or a file:// localStorage. */
  url: string;
  endpoint?: string;
}

function siteCatalog(sites: SiteSpec[]): string {
  return yaml.dump({
    pegasus: '5.0',
    sites: sites.map((s) => ({
      name: s.name,
      directories: [
        {
          type: s.url.startsWith('s3:') ? 'sharedScratch' : 'localStorage',
          path: '/unused',
          fileServers: [{ url: s.url, operation: 'all' }],
        },
      ],
      ...(s.endpoint
        ? {
            profiles: {
              aloft: {
                's3.endpoint': s.endpoint,
                's3.region': 'us-east-1',
                's3.path-style': 'true',
              },
            },
          }
        : {}),
    })),
  });
}

/**
 * The radar workflow with its transformations installed on `sites` and its scans' replicas
 * as absolute paths — or, given `archive`, in the S3 archive on site `archive`.
 */
function radarWorkflow(sites: string[], archive?: string): string {
  const wf = yaml.load(readFileSync(path.join(RADAR, 'workflow.yml'), 'utf8')) as Yaml;
  const tc = wf['transformationCatalog'] as { transformations: { sites: Yaml[] }[] };
  for (const t of tc.transformations) t.sites = sites.map((name) => ({ ...t.sites[0], name }));
  const rc = wf['replicaCatalog'] as { replicas: { lfn: string; pfns: Yaml[] }[] };
  for (const r of rc.replicas) {
    r.pfns = archive
      ? [{ site: 'archive', pfn: `${archive}${r.lfn}` }]
      : r.pfns.map((p) => ({ ...p, pfn: path.join(RADAR, String(p['pfn'])) }));
  }
  return yaml.dump(wf);
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of (await readdir(dir)).sort()) out.set(f, await readFile(path.join(dir, f)));
  return out;
}

function transfersOf(
  events: JournalEvent[],
): { lfn: string; dst: string; bytes: number; sha256?: string }[] {
  return events.flatMap((e) =>
    e.type === 'attempt_finished' && e.ok ? (e.record.transfers ?? []) : [],
  );
}

describe.skipIf(!s3ServerAvailable || !existsSync(BIN))('S3 staging end to end', () => {
  let s3: S3TestServer;
  let tmp: string;
  /** Credentials only: endpoints come from the site catalogs. */
  let env: Record<string, string>;
  /** Outputs of a plain `aloft run` of radar (no S3), to compare with. */
  let baseline: Map<string, Buffer>;

  beforeAll(async () => {
    // This file uses the SDK directly too: no Node-version notice in the test output.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    s3 = await startS3Server({ buckets: [BUCKET, ARCHIVE] });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-staging-s3-'));
    env = {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      ALOFT_RETRY_DELAY_MS: '50',
      ALOFT_LOG_LEVEL: 'warn',
    };
    const out = path.join(tmp, 'baseline-out');
    const r = await aloft(
      ['run', 'workflow.yml', '--run-dir', path.join(tmp, 'baseline-run'), '--output-dir', out],
      { cwd: RADAR, env, timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    baseline = await filesOf(out);
    expect([...baseline.keys()]).toEqual(['accumulation.csv', 'alerts.txt']);
  }, 180_000);

  afterAll(async () => {
    await s3?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 60_000);

  /** The SDK straight at the test server (no aloft code in between). */
  async function sdk(): Promise<import('@aws-sdk/client-s3').S3Client> {
    const { S3Client } = await import('@aws-sdk/client-s3');
    return new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      forcePathStyle: true,
    });
  }

  it('radar on two sites with S3 scratch: outputs as a plain run, sha256 recorded, objects in the bucket', async () => {
    const dir = path.join(tmp, 'radar-s3');
    await mkdir(dir, { recursive: true });
    const out = path.join(dir, 'out');
    await writeFile(path.join(dir, 'radar.yml'), radarWorkflow(['edge', 'hpc']));
    await writeFile(
      path.join(dir, 'sites.yml'),
      siteCatalog([
        { name: 'edge', url: `s3://${BUCKET}/radar/edge`, endpoint: s3.endpoint },
        { name: 'hpc', url: `s3://${BUCKET}/radar/hpc`, endpoint: s3.endpoint },
        { name: 'local', url: `file://${out}` },
      ]),
    );
    const runDir = path.join(dir, 'run');
    // --cleanup none: the staged objects stay in the bucket to be checked.
    const r = await aloft(
      [
        'run', 'radar.yml', '--site-catalog', 'sites.yml', '--sites', 'edge,hpc',
        '--output-site', 'local', '--cleanup', 'none', '--run-dir', runDir, '--output-dir', out,
      ],
      { cwd: dir, env, timeoutMs: 120_000 },
    ); // prettier-ignore
    expect(r.code, r.stderr).toBe(0);

    // Outputs identical to the plain run's.
    const got = await filesOf(out);
    expect([...got.keys()]).toEqual([...baseline.keys()]);
    for (const [f, bytes] of baseline) expect(got.get(f)!.equals(bytes), f).toBe(true);

    // The output replica catalog lists each output with its sha256.
    const orc = yaml.load(readFileSync(path.join(runDir, 'output-replicas.yml'), 'utf8')) as {
      replicas: { lfn: string; checksum?: { sha256?: string } }[];
    };
    for (const [f, bytes] of baseline) {
      const entry = orc.replicas.find((x) => x.lfn === f);
      expect(entry?.checksum?.sha256, f).toBe(sha256(bytes));
    }

    // Compute jobs ran on both sites, and their data went through the bucket.
    const plan = JSON.parse(readFileSync(runPaths(runDir).plan, 'utf8')) as Plan;
    const sites = new Set(plan.jobs.filter((j) => j.kind === 'compute').map((j) => j.site));
    expect([...sites].sort()).toEqual(['edge', 'hpc']);
    const events = readJournalSync(runDir);
    const intoS3 = transfersOf(events).filter((t) => t.dst.startsWith(`s3://${BUCKET}/`));
    expect(intoS3.length).toBeGreaterThanOrEqual(12);
    const client = await sdk();
    try {
      const { GetObjectCommand } = await import('@aws-sdk/client-s3');
      for (const t of intoS3) {
        const key = t.dst.slice(`s3://${BUCKET}/`.length);
        const obj = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        const body = Buffer.from(await obj.Body!.transformToByteArray());
        expect(sha256(body), key).toBe(t.sha256);
        expect(obj.Metadata?.['sha256'], key).toBe(t.sha256);
      }
      // Stage-in put the scans on both sites' stores.
      const scans = intoS3.filter((t) => t.lfn.endsWith('.csv.gz')).map((t) => t.dst);
      expect(scans.some((u) => u.includes('/radar/edge/'))).toBe(true);
      expect(scans.some((u) => u.includes('/radar/hpc/'))).toBe(true);
    } finally {
      client.destroy();
    }
  }, 180_000);

  it('corruption: an object altered between upload and stage-in fails its consumer as a data error', async () => {
    const dir = path.join(tmp, 'corrupt');
    await mkdir(dir, { recursive: true });
    const gate = path.join(dir, 'gate');
    const out = path.join(dir, 'out');
    // make → blob (on the edge store); wait holds until the test opens the gate; use reads
    // blob after both. Everything on site edge, its store in the bucket.
    const sh = (name: string): Yaml => ({
      name,
      sites: [{ name: 'edge', pfn: '/bin/sh', type: 'installed' }],
    });
    await writeFile(
      path.join(dir, 'wf.yml'),
      yaml.dump({
        pegasus: '5.0',
        name: 'corrupt',
        transformationCatalog: { transformations: [sh('make'), sh('wait'), sh('use')] },
        jobs: [
          {
            type: 'job', name: 'make', id: 'make',
            arguments: ['-c', 'head -c 200000 /dev/zero | tr "\\0" a > blob'],
            uses: [{ lfn: 'blob', type: 'output', stageOut: false, registerReplica: false }],
          },
          {
            type: 'job', name: 'wait', id: 'wait',
            arguments: ['-c', `while [ ! -e ${gate} ]; do sleep 0.1; done; echo ok > token`],
            uses: [{ lfn: 'token', type: 'output', stageOut: false, registerReplica: false }],
          },
          {
            type: 'job', name: 'use', id: 'use',
            arguments: ['-c', 'wc -c < blob > result'],
            uses: [
              { lfn: 'blob', type: 'input' },
              { lfn: 'token', type: 'input' },
              { lfn: 'result', type: 'output', stageOut: true, registerReplica: false },
            ],
          },
        ],
      }),
    ); // prettier-ignore
    await writeFile(
      path.join(dir, 'sites.yml'),
      siteCatalog([
        { name: 'edge', url: `s3://${BUCKET}/corrupt/edge`, endpoint: s3.endpoint },
        { name: 'local', url: `file://${out}` },
      ]),
    );
    const runDir = path.join(dir, 'run');
    const running = aloft(
      [
        'run', 'wf.yml', '--site-catalog', 'sites.yml', '--sites', 'edge', '--output-site',
        'local', '--run-dir', runDir, '--output-dir', out,
      ],
      { cwd: dir, env, timeoutMs: 120_000 },
    ); // prettier-ignore

    // Wait until make's output is in the store (its attempt finished, journaled).
    let blobUrl: string | undefined;
    let blobSha: string | undefined;
    for (let waited = 0; blobUrl === undefined; waited += 100) {
      if (waited > 60_000) throw new Error('make never finished');
      await sleep(100);
      if (!existsSync(runPaths(runDir).journal)) continue;
      const done = readJournalSync(runDir).find(
        (e) => e.type === 'attempt_finished' && e.job === 'make' && e.ok,
      );
      const t = done?.type === 'attempt_finished' ? done.record.transfers : undefined;
      const up = t?.find((x) => x.lfn === 'blob' && x.dst.startsWith('s3:'));
      if (up) {
        blobUrl = up.dst;
        blobSha = up.sha256;
      }
    }
    expect(blobSha).toMatch(/^[0-9a-f]{64}$/);

    // Alter the object's body with the bare SDK, keeping its sha256 metadata.
    const client = await sdk();
    const altered = Buffer.alloc(200_000, 'b');
    try {
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      await client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: blobUrl!.slice(`s3://${BUCKET}/`.length),
          Body: altered,
          Metadata: { sha256: blobSha! },
        }),
      );
    } finally {
      client.destroy();
    }
    await writeFile(gate, '');

    const r = await running;
    expect(r.code, r.stderr).toBe(1);
    const events = readJournalSync(runDir);
    const failed = events.find((e) => e.type === 'job_failed' && e.job === 'use');
    expect(failed?.type === 'job_failed' && failed.failure.kind).toBe('data');
    const attempts = events.flatMap((e) =>
      e.type === 'attempt_finished' && e.job === 'use' ? [e] : [],
    );
    // Data failures spend retries: every attempt saw the corrupt object, none ran `use`.
    const plan = JSON.parse(readFileSync(runPaths(runDir).plan, 'utf8')) as Plan;
    const retries = plan.jobs.find((j) => j.id === 'use')!.retries;
    expect(attempts).toHaveLength(retries + 1);
    for (const a of attempts) {
      expect(a.ok).toBe(false);
      expect(a.failure?.kind).toBe('data');
      expect(a.failure?.missingFiles).toEqual(['blob']);
      const msg = a.failure?.message ?? '';
      expect(msg).toContain('blob');
      expect(msg).toContain(blobUrl!);
      expect(msg).toContain(blobSha!);
      expect(msg).toContain(sha256(altered));
    }
    expect(existsSync(path.join(out, 'result'))).toBe(false);
  }, 180_000);

  describe('a flaky archive behind a fault-injecting proxy', () => {
    let proxy: FlakyHttpProxy;

    beforeAll(async () => {
      proxy = await startFlakyHttpProxy(s3.endpoint);
      // The scans, uploaded with the SDK (with their sha256 metadata, as aloft writes it).
      const client = await sdk();
      try {
        const { PutObjectCommand } = await import('@aws-sdk/client-s3');
        for (const f of await readdir(path.join(RADAR, 'data'))) {
          const body = await readFile(path.join(RADAR, 'data', f));
          await client.send(
            new PutObjectCommand({
              Bucket: ARCHIVE,
              Key: `scans/${f}`,
              Body: body,
              Metadata: { sha256: sha256(body) },
            }),
          );
        }
      } finally {
        client.destroy();
      }
    }, 60_000);

    afterAll(async () => {
      await proxy?.close();
    });

    it('503s and a cut body are retried, a stall is ridden out with progress in status; outputs as a plain run', async () => {
      const dir = path.join(tmp, 'flaky');
      await mkdir(dir, { recursive: true });
      const out = path.join(dir, 'out');
      await writeFile(
        path.join(dir, 'radar.yml'),
        radarWorkflow(['edge', 'hpc'], `s3://${ARCHIVE}/scans/`),
      );
      await writeFile(
        path.join(dir, 'sites.yml'),
        siteCatalog([
          { name: 'edge', url: `s3://${BUCKET}/flaky/edge`, endpoint: s3.endpoint },
          { name: 'hpc', url: `s3://${BUCKET}/flaky/hpc`, endpoint: s3.endpoint },
          // The archive is reached only through the proxy.
          { name: 'archive', url: `s3://${ARCHIVE}/scans`, endpoint: proxy.url },
          { name: 'local', url: `file://${out}` },
        ]),
      );
      const get = (f: string) => ({ method: 'GET', path: `/${ARCHIVE}/scans/${f}` });
      proxy.inject({ kind: 'status', status: 503 }, { times: 4, match: get('scan_001.csv.gz') });
      proxy.inject({ kind: 'cut', afterBytes: 100 }, { times: 1, match: get('scan_002.csv.gz') });
      proxy.inject({ kind: 'stall', afterBytes: 100, ms: 5000 }, { match: get('scan_003.csv.gz') });
      const runDir = path.join(dir, 'run');
      const running = aloft(
        [
          'run', 'radar.yml', '--site-catalog', 'sites.yml', '--sites', 'edge,hpc',
          '--output-site', 'local', '--run-dir', runDir, '--output-dir', out,
        ],
        { cwd: dir, env, timeoutMs: 120_000 },
      ); // prettier-ignore

      // While the stalled scan holds its stage-in job, status shows that job's progress.
      let shown: { job: string; filesDone: number; filesTotal: number } | undefined;
      for (let waited = 0; shown === undefined && waited < 60_000; waited += 200) {
        await sleep(200);
        if (!existsSync(runPaths(runDir).journal)) continue;
        const s = await aloft(['status', runDir, '--json'], { env });
        if (s.code !== 0) continue;
        const view = JSON.parse(s.stdout) as {
          state: string;
          transfers?: { job: string; filesDone: number; filesTotal: number }[];
        };
        shown = view.transfers?.find((t) => t.filesDone > 0 && t.filesDone < t.filesTotal);
        if (view.state !== 'running') break;
      }
      const r = await running;
      expect(r.code, r.stderr).toBe(0);
      expect(shown, 'progress of the stalled stage-in job in aloft status --json').toBeDefined();
      expect(shown!.job).toMatch(/^stage_in/);

      // The faults were served, and the transfers got past them.
      const faults = proxy.requests().filter((q) => q.fault !== undefined);
      expect(faults.filter((q) => q.fault === 'status')).toHaveLength(4);
      expect(faults.filter((q) => q.fault === 'cut')).toHaveLength(1);
      expect(faults.filter((q) => q.fault === 'stall')).toHaveLength(1);
      const ok = (f: string): number =>
        proxy.requests(get(f)).filter((q) => q.fault === undefined && q.status === 200).length;
      expect(ok('scan_001.csv.gz')).toBeGreaterThanOrEqual(1);
      expect(ok('scan_002.csv.gz')).toBeGreaterThanOrEqual(1);

      const got = await filesOf(out);
      for (const [f, bytes] of baseline) expect(got.get(f)?.equals(bytes), f).toBe(true);

      // The journal kept the progress sparingly: a few events, each within the job's totals.
      const events = readJournalSync(runDir);
      const progress = events.flatMap((e) => (e.type === 'attempt_progress' ? [e] : []));
      expect(progress.length).toBeGreaterThan(0);
      for (const p of progress) {
        expect(p.filesDone).toBeLessThanOrEqual(p.filesTotal);
        expect(p.bytesDone).toBeLessThanOrEqual(p.bytesTotal);
      }
      // The stalled job (5 s) reported a few times at most: agents report every 2 s, the
      // engine journals at most one per second per job.
      const ofStalled = progress.filter((p) => p.job === shown!.job);
      expect(ofStalled.length).toBeGreaterThan(0);
      expect(ofStalled.length).toBeLessThanOrEqual(6);
    }, 180_000);
  });

  describe.skipIf(!natsServerAvailable)('a WfCommons replay over two sites through S3', () => {
    const TRACE = path.join(
      SHARED,
      'workflows',
      'wfcommons',
      'pegasus',
      '1000genome',
      '1000genome-chameleon-2ch-100k-001.json',
    );
    // 2.6 GB of distinct files in the trace × 0.002: about 5 MB staged.
    const SIZE_SCALE = 0.002;
    const TOKEN = 'staging-s3-token';
    const SITE_OF: Record<string, string> = { 'edge-1': 'edge', 'hpc-1': 'hpc' };
    let nats: NatsServer;
    let sched: Daemon | undefined;
    const agents: Daemon[] = [];
    let addr = '';
    let base = '';

    const client = (args: string[]) =>
      aloft([...args, '--scheduler', addr, '--token', TOKEN], {
        env: { ...env, ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' },
        timeoutMs: 180_000,
      });

    beforeAll(async () => {
      if (!existsSync(TRACE)) return;
      base = path.join(tmp, 'replay');
      nats = await startNatsServer();
      sched = await daemon(
        [
          'scheduler', '--nats', nats.url, '--data', path.join(base, 'data'),
          '--listen', '127.0.0.1:0', '--token', TOKEN, '--lease', '10s', '--log-level', 'warn',
        ],
        SCHEDULER_READY,
        REPO,
        { env },
      ); // prettier-ignore
      addr = schedulerAddress(sched);
      const agent = (id: string) =>
        daemon(
          [
            'agent', '--nats', nats.url, '--site', SITE_OF[id]!, '--id', id,
            '--work', path.join(base, 'agents', id), '--slots', '2', '--heartbeat', '300ms',
            '--log-level', 'warn',
          ],
          /serving site/,
          REPO,
          { env },
        ); // prettier-ignore
      agents.push(...(await Promise.all(Object.keys(SITE_OF).map(agent))));
      await waitForAgents(client, 2, 30_000);
    }, 90_000);

    afterAll(async () => {
      for (const a of agents) await a.stop();
      await sched?.stop();
      await nats?.dispose();
    }, 90_000);

    it.skipIf(!existsSync(TRACE))(
      'runs to success with outputs and staged checksums verified',
      async () => {
        const out = path.join(base, 'out');
        const sites = path.join(base, 'sites.yml');
        await writeFile(
          sites,
          siteCatalog([
            { name: 'edge', url: `s3://${BUCKET}/replay/edge`, endpoint: s3.endpoint },
            { name: 'hpc', url: `s3://${BUCKET}/replay/hpc`, endpoint: s3.endpoint },
            { name: 'local', url: `file://${out}` },
          ]),
        );
        const r = await client([
        'submit', TRACE, '--site-catalog', sites, '--sites', 'edge,hpc', '--output-dir', out,
        '--wait', '--time-scale', '0.002', '--size-scale', String(SIZE_SCALE),
      ]); // prettier-ignore
        expect(r.code, r.stderr).toBe(0);
        const runDir = path.join(base, 'data', 'runs', r.stdout.trim());
        const events = readJournalSync(runDir);
        expect(events.at(-1)).toMatchObject({ type: 'run_finished', state: 'succeeded' });

        // Both sites' agents ran work, and data moved through both sites' stores.
        const started = events.flatMap((e) => (e.type === 'attempt_started' ? [e] : []));
        expect(new Set(started.map((e) => SITE_OF[e.agent])).size).toBe(2);
        const staged = transfersOf(events);
        const s3Bytes = staged
          .filter((t) => t.dst.startsWith('s3:'))
          .reduce((n, t) => n + t.bytes, 0);
        expect(staged.some((t) => t.dst.startsWith(`s3://${BUCKET}/replay/edge/`))).toBe(true);
        expect(staged.some((t) => t.dst.startsWith(`s3://${BUCKET}/replay/hpc/`))).toBe(true);
        // A few MB in all, as scaled.
        expect(s3Bytes).toBeGreaterThan(1_000_000);
        expect(s3Bytes).toBeLessThan(200_000_000);
        for (const t of staged) expect(t.sha256, `${t.lfn} -> ${t.dst}`).toMatch(/^[0-9a-f]{64}$/);

        // Outputs: the final products with their scaled sizes and the synthetic bytes, and
        // each staged-out copy has the sha256 its transfer recorded.
        const finals = await finalProducts(TRACE, SIZE_SCALE);
        await expectSyntheticOutputs(out, finals);
        for (const t of staged.filter((x) => x.dst.startsWith('file:'))) {
          const file = new URL(t.dst).pathname;
          if (!file.startsWith(out)) continue;
          expect(sha256(await readFile(file)), t.lfn).toBe(t.sha256);
        }
      },
      240_000,
    );

    it.skipIf(!existsSync(TRACE))(
      'a stalled stage-in shows its progress in aloft status --scheduler',
      async () => {
        const dir = path.join(base, 'remote-flaky');
        await mkdir(dir, { recursive: true });
        const out = path.join(dir, 'out');
        const proxy = await startFlakyHttpProxy(s3.endpoint);
        try {
          const c = await sdk();
          try {
            const { PutObjectCommand } = await import('@aws-sdk/client-s3');
            for (const f of await readdir(path.join(RADAR, 'data'))) {
              const body = await readFile(path.join(RADAR, 'data', f));
              await c.send(
                new PutObjectCommand({
                  Bucket: ARCHIVE,
                  Key: `remote-scans/${f}`,
                  Body: body,
                  Metadata: { sha256: sha256(body) },
                }),
              );
            }
          } finally {
            c.destroy();
          }
          const wf = path.join(dir, 'radar.yml');
          const sites = path.join(dir, 'sites.yml');
          await writeFile(wf, radarWorkflow(['edge', 'hpc'], `s3://${ARCHIVE}/remote-scans/`));
          await writeFile(
            sites,
            siteCatalog([
              { name: 'edge', url: `s3://${BUCKET}/remote/edge`, endpoint: s3.endpoint },
              { name: 'hpc', url: `s3://${BUCKET}/remote/hpc`, endpoint: s3.endpoint },
              { name: 'archive', url: `s3://${ARCHIVE}/remote-scans`, endpoint: proxy.url },
              { name: 'local', url: `file://${out}` },
            ]),
          );
          proxy.inject(
            { kind: 'stall', afterBytes: 100, ms: 5000 },
            { match: { method: 'GET', path: `/${ARCHIVE}/remote-scans/scan_003.csv.gz` } },
          );
          const sub = await client([
            'submit', wf, '--site-catalog', sites, '--sites', 'edge,hpc',
            '--output-site', 'local', '--output-dir', out,
          ]); // prettier-ignore
          expect(sub.code, sub.stderr).toBe(0);
          const id = sub.stdout.trim();

          // While the stalled scan holds its stage-in job, the scheduler's live status shows
          // that job's progress (over the control API, not from the run directory).
          type Remote = {
            state: string;
            transfers?: { job: string; filesDone: number; filesTotal: number }[];
          };
          let shown: { job: string; filesDone: number; filesTotal: number } | undefined;
          let last: Remote | undefined;
          const seen: string[] = [];
          for (let waited = 0; waited < 120_000; waited += 200) {
            const st = await client(['status', id, '--json']);
            seen.push(`${st.code} ${st.stdout.trim()} ${st.stderr.trim()}`.slice(0, 300));
            if (st.code === 0) {
              last = JSON.parse(st.stdout) as Remote;
              shown ??= last.transfers?.find((t) => t.filesDone > 0 && t.filesDone < t.filesTotal);
              if (last.state !== 'running') break;
            }
            await sleep(200);
          }
          expect(last?.state).toBe('succeeded');
          const progress = readJournalSync(path.join(base, 'data', 'runs', id)).filter(
            (e) => e.type === 'attempt_progress',
          );
          expect(
            shown,
            `progress of the stalled stage-in job in status --scheduler (journal: ${JSON.stringify(progress)}; seen ${seen.join(' | ')})`,
          ).toBeDefined();
          expect(shown!.job).toMatch(/^stage_in/);
          expect(proxy.requests().filter((q) => q.fault === 'stall')).toHaveLength(1);
          const got = await filesOf(out);
          for (const [f, bytes] of baseline) expect(got.get(f)?.equals(bytes), f).toBe(true);
        } finally {
          await proxy.close();
        }
      },
      240_000,
    );
  });
});
