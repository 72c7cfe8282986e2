/**
 * One measurement in a fresh process (so peak RSS belongs to that measurement alone):
 *   plan-worker baseline FILE.json   JSON.parse + Kahn topological sort of jobDependencies
 *   plan-worker load FILE            aloft's reader + planner on FILE (catalogs beside it)
 * Prints one JSON line: { parseMs, planMs, totalMs, maxRssMb, jobs, planned }.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { readWorkflow } from '../services/formats/index.js';
import { plan, defaultPlanOptions } from '../services/planner/index.js';

async function baseline(file: string): Promise<object> {
  const t0 = performance.now();
  const doc = JSON.parse(await readFile(file, 'utf8')) as {
    jobs: { id: string }[];
    jobDependencies: { id: string; children: string[] }[];
  };
  const t1 = performance.now();
  const index = new Map<string, number>();
  doc.jobs.forEach((j, i) => index.set(j.id, i));
  const n = doc.jobs.length;
  const indeg = new Int32Array(n);
  const adj: number[][] = Array.from({ length: n }, () => []);
  for (const d of doc.jobDependencies) {
    const p = index.get(d.id)!;
    for (const c of d.children) {
      const ci = index.get(c)!;
      adj[p]!.push(ci);
      indeg[ci]!++;
    }
  }
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i);
  let seen = 0;
  for (let h = 0; h < queue.length; h++) {
    seen++;
    for (const c of adj[queue[h]!]!) if (--indeg[c]! === 0) queue.push(c);
  }
  if (seen !== n) throw new Error('cycle in baseline');
  const t2 = performance.now();
  return { parseMs: t1 - t0, planMs: t2 - t1, totalMs: t2 - t0, jobs: n };
}

async function load(file: string): Promise<object> {
  const t0 = performance.now();
  const loaded = await readWorkflow(file, {});
  const t1 = performance.now();
  const p = plan(
    loaded,
    defaultPlanOptions({ storeRoot: 'file:///tmp/aloft-bench-stores/', sites: ['compute'] }),
  );
  const t2 = performance.now();
  return {
    parseMs: t1 - t0,
    planMs: t2 - t1,
    totalMs: t2 - t0,
    jobs: loaded.workflow.jobs.length,
    planned: p.jobs.length,
  };
}

const [mode, file] = process.argv.slice(2);
if (!file || (mode !== 'baseline' && mode !== 'load')) {
  process.stderr.write('usage: plan-worker baseline|load FILE\n');
  process.exit(2);
}
const result = mode === 'baseline' ? await baseline(file) : await load(file);
const maxRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify({ ...result, maxRssMb }) + '\n');
