/**
 * A constrained agent (issue 4, "Done means"): `aloft run` (the built binary, embedded mode)
 * whose run directory — journal, site store, the agent's scratch and its input cache — is a
 * small tmpfs the test mounts, smaller than the workflow's intermediate data. It completes
 * thanks to `--cleanup constraint` (the store kept under the workflow's maxspace) and the
 * input cache's LRU eviction (inputs read through the cache add up to more than its budget),
 * and never exceeds its budget: the test samples the filesystem's used bytes (statfs) and the
 * store's bytes every few milliseconds while the run goes on. Every job succeeds at its first
 * attempt (no disk-full retries). Skipped only when mounting is not permitted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlannedJob } from '../proto/index.js';
import { BIN } from './helpers/cli.js';
import {
  startCountingHttpServer,
  type CountingHttpServer,
} from './helpers/counting-http-server.js';
import { journal, ofType, spawnAloft, tmpDir, write } from './run-helpers.js';
import { mountPermitted, mountTmpfs, unmount } from './helpers/tmpfs.js';

const MiB = 1024 * 1024;
/** The agent's disk: run dir, store, scratch and cache all live here. */
const DISK = 32 * MiB;
/** The workflow's store budget (pegasus file.cleanup.constraint.maxspace). */
const MAXSPACE = 12 * MiB;
const CHAINS = 4;
/** Jobs per chain: STEPS - 1 intermediates of INTERMEDIATE bytes, then a small result. */
const STEPS = 5;
const INTERMEDIATE = 3 * MiB;
/** One input per chain, read by every job of the chain through the agent's input cache. */
const SEED = 1.5 * MiB;
const SLOTS = 2;

const canMount = mountPermitted();

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Bytes of the regular files under `dir` (0 when it does not exist yet), except `skip`. */
async function bytesUnder(dir: string, skip?: RegExp): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await readdir(dir, { recursive: true });
  } catch {
    return 0;
  }
  for (const n of names) {
    if (skip?.test(n)) continue;
    const s = await stat(path.join(dir, n)).catch(() => undefined);
    if (s?.isFile()) total += s.size;
  }
  return total;
}

/**
 * Chains of jobs: job k of chain c reads the chain's seed (http, bypass: through the agent's
 * cache) and the previous intermediate, and writes the next intermediate (random bytes, its
 * size declared so the planner can keep the store under maxspace); the last job writes a
 * small result that is staged out.
 */
function workflowYaml(seeds: { url: string; sha256: string }[]): string {
  const jobs: string[] = [];
  const replicas: string[] = [];
  for (let c = 0; c < CHAINS; c++) {
    replicas.push(
      `    - { lfn: seed.${c}, pfns: [{ site: web, pfn: "${seeds[c]!.url}" }], checksum: { sha256: ${seeds[c]!.sha256} } }`,
    );
    for (let k = 0; k < STEPS; k++) {
      const input = k === 0 ? undefined : `mid.${c}.${k - 1}`;
      const last = k === STEPS - 1;
      const out = last ? `result.${c}` : `mid.${c}.${k}`;
      const read = `cat seed.${c} ${input ?? ''} > /dev/null`;
      const script = last
        ? `${read} && wc -c < ${input} > ${out}`
        : `${read} && head -c ${INTERMEDIATE} /dev/urandom > ${out}`;
      const uses = [
        `{ lfn: seed.${c}, type: input, bypass: true }`,
        ...(input ? [`{ lfn: ${input}, type: input, size: ${INTERMEDIATE} }`] : []),
        last
          ? `{ lfn: ${out}, type: output, stageOut: true, registerReplica: false, size: 16 }`
          : `{ lfn: ${out}, type: output, stageOut: false, registerReplica: false, size: ${INTERMEDIATE} }`,
      ];
      jobs.push(
        `  - id: c${c}s${k}\n    name: sh\n    arguments: [-c, "${script}"]\n` +
          `    uses: [${uses.join(', ')}]`,
      );
    }
  }
  return `pegasus: "5.0"
name: constrained
profiles:
  pegasus: { file.cleanup.constraint.maxspace: "${MAXSPACE}" }
replicaCatalog:
  replicas:
${replicas.join('\n')}
transformationCatalog:
  transformations:
    - { name: sh, sites: [{ name: local, pfn: /bin/sh, type: installed }] }
jobs:
${jobs.join('\n')}
`;
}

describe.skipIf(!canMount)('a constrained agent: disk smaller than the intermediate data', () => {
  let tmp: string;
  let mnt: string | undefined;
  let http: CountingHttpServer;

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} missing: run 'npm run build' first`);
    tmp = tmpDir('disk-budget');
    http = await startCountingHttpServer();
    const dir = path.join(tmp, 'disk');
    mountTmpfs(dir, DISK);
    mnt = dir;
  });
  afterAll(async () => {
    await http?.close();
    if (mnt) unmount(mnt);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it(
    'completes with constraint cleanup and cache eviction, never above its disk or maxspace',
    { timeout: 240_000 },
    async () => {
      const seeds = Array.from({ length: CHAINS }, (_, c) => {
        const body = randomBytes(SEED);
        return { url: http.put(`/seed-${c}.bin`, body), sha256: sha(body) };
      });
      const wf = write(tmp, 'constrained.yml', workflowYaml(seeds));
      const runDir = path.join(mnt!, 'run');
      const storeDir = path.join(runDir, 'stores');
      const cacheEntries = path.join(runDir, 'agent', 'cache', 'entries');
      const out = path.join(tmp, 'outputs');

      const child = spawnAloft(
        ['run', wf, '--run-dir', runDir, '--output-dir', out, '--slots', String(SLOTS)].concat([
          '--cleanup',
          'constraint',
        ]),
        tmp,
        { ALOFT_RETRY_DELAY_MS: '10' },
      );
      let done = false;
      let samples = 0;
      let maxUsed = 0;
      let maxStore = 0;
      const exited = child.exited.finally(() => (done = true));
      // Sample the filesystem and the store every few ms until the run ends.
      const sampler = (async () => {
        while (!done) {
          const s = await statfs(mnt!);
          maxUsed = Math.max(maxUsed, (s.blocks - s.bfree) * s.bsize);
          maxStore = Math.max(maxStore, await bytesUnder(storeDir));
          samples++;
          await new Promise((r) => setTimeout(r, 3));
        }
      })();
      const { code } = await exited;
      await sampler;
      expect(child.stderr()).toBe('');
      expect(code, child.stdout()).toBe(0);

      // The premise: the store alone would need more than the whole disk without cleanup.
      const plan = JSON.parse(readFileSync(path.join(runDir, 'plan.json'), 'utf8')) as {
        jobs: PlannedJob[];
      };
      const compute = plan.jobs.filter((j) => j.kind === 'compute');
      expect(compute).toHaveLength(CHAINS * STEPS);
      const intermediates = CHAINS * (STEPS - 1) * INTERMEDIATE;
      expect(intermediates).toBeGreaterThan(DISK);
      expect(plan.jobs.some((j) => j.kind === 'cleanup')).toBe(true);

      // Never over budget: the disk (statfs) and the store's maxspace, sampled throughout.
      expect(samples).toBeGreaterThan(10);
      expect(maxUsed).toBeGreaterThan(INTERMEDIATE);
      expect(maxUsed).toBeLessThan(DISK);
      expect(maxStore).toBeGreaterThanOrEqual(INTERMEDIATE);
      expect(maxStore).toBeLessThanOrEqual(MAXSPACE);

      // Every job succeeded once, at its first attempt: no disk-full failure, no retry.
      const events = journal(runDir);
      const ids = plan.jobs.map((j) => j.id).sort();
      expect(ofType(events, 'job_retry')).toEqual([]);
      expect(ofType(events, 'job_failed')).toEqual([]);
      expect(
        ofType(events, 'job_succeeded')
          .map((e) => e.job)
          .sort(),
      ).toEqual(ids);
      expect(
        ofType(events, 'attempt_started')
          .map((e) => e.job)
          .sort(),
      ).toEqual(ids);
      expect(ofType(events, 'run_finished').at(-1)?.state).toBe('succeeded');

      // Cache eviction: the seeds read through the cache add up to more than its budget
      // (10% of this disk), every job of a chain read its seed through it, and what the
      // cache holds at the end is within the budget.
      const budget = Math.floor(DISK * 0.1);
      expect(CHAINS * SEED).toBeGreaterThan(budget);
      const seedUses = ofType(events, 'attempt_finished').flatMap((e) =>
        e.record.transfers.filter((t) => t.lfn.startsWith('seed.')),
      );
      expect(seedUses).toHaveLength(CHAINS * STEPS);
      expect(seedUses.every((t) => t.cache === 'hit' || t.cache === 'miss')).toBe(true);
      const fetched = seeds.reduce((n, s) => n + http.gets(new URL(s.url).pathname), 0);
      expect(fetched).toBe(seedUses.filter((t) => t.cache === 'miss').length);
      expect(fetched).toBeGreaterThanOrEqual(CHAINS);
      expect(await bytesUnder(cacheEntries, /\.json$/)).toBeLessThanOrEqual(budget);

      // Results are right, and the store holds no intermediate any more.
      for (let c = 0; c < CHAINS; c++) {
        expect(readFileSync(path.join(out, `result.${c}`), 'utf8').trim()).toBe(
          String(INTERMEDIATE),
        );
      }
      expect(await bytesUnder(storeDir)).toBe(0);
    },
  );
});
