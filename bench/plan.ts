/**
 * bench/plan — issue 2's planning budget (DESIGN §10).
 *
 * For generated Montage-shaped workflows of 10k, 100k and 1M jobs, in YAML and JSON:
 * parse time, plan time and peak RSS of aloft, beside a bare JSON.parse + topological sort
 * of the same workflow measured in the same invocation. Budget: 100k jobs from YAML within
 * 6x of that baseline (aim 2x); 1M jobs without running out of memory.
 *
 *   node dist/bench/plan.js [--sizes 10000,100000,1000000] [--dir .bench/plan] [--repeat N]
 *
 * Each measurement runs in a fresh process (`plan-worker`), so RSS is its own; the best of
 * --repeat runs (default 3 for sizes up to 100k, 1 above) is reported.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeMontage, montageCatalogs } from './montage-shape.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const worker = path.join(here, 'plan-worker.js');
const GENERATOR_VERSION = 'v1';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    dir: { type: 'string', default: '.bench/plan' },
    repeat: { type: 'string' },
  },
});
const sizes = values.sizes!.split(',').map(Number);
const root = path.resolve(values.dir!);

interface Measure {
  parseMs: number;
  planMs: number;
  totalMs: number;
  maxRssMb: number;
  jobs: number;
  planned?: number;
}

function measure(mode: 'baseline' | 'load', file: string, repeat: number): Measure | string {
  let best: Measure | undefined;
  for (let i = 0; i < repeat; i++) {
    const r = spawnSync(process.execPath, ['--max-old-space-size=20000', worker, mode, file], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0)
      return `failed (${r.signal ?? r.status}): ${r.stderr.trim().split('\n').pop()}`;
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as Measure;
    if (!best || m.totalMs < best.totalMs) best = m;
  }
  return best!;
}

async function prepare(size: number): Promise<{ yaml: string; json: string; jobs: number }> {
  const dir = path.join(root, `${GENERATOR_VERSION}-${size}`);
  const yaml = path.join(dir, 'yaml', 'workflow.yml');
  const json = path.join(dir, 'json', 'workflow.json');
  const marker = path.join(dir, 'done');
  if (!existsSync(marker)) {
    for (const sub of ['yaml', 'json']) mkdirSync(path.join(dir, sub), { recursive: true });
    const a = await writeMontage(yaml, size, 'yaml');
    await writeMontage(json, size, 'json');
    const { tc, rc } = montageCatalogs(a.inputs);
    for (const sub of ['yaml', 'json']) {
      writeFileSync(path.join(dir, sub, 'transformations.yml'), tc);
      writeFileSync(path.join(dir, sub, 'replicas.yml'), rc);
    }
    writeFileSync(marker, String(a.jobs));
  }
  return { yaml, json, jobs: Number(readFileSync(marker, 'utf8')) };
}

const fmt = (ms: number): string => (ms / 1000).toFixed(3);
const rows: string[][] = [];
const header = [
  'jobs',
  'format',
  'file MB',
  'parse s',
  'plan s',
  'total s',
  'peak RSS MB',
  'baseline s',
  'base RSS MB',
  'ratio',
];
let verdict = '';
for (const size of sizes) {
  process.stderr.write(`preparing ${size} jobs...\n`);
  const files = await prepare(size);
  const repeat = Number(values.repeat ?? (size <= 100_000 ? 3 : 1));
  process.stderr.write(`measuring ${size} jobs (best of ${repeat})...\n`);
  const base = measure('baseline', files.json, repeat);
  for (const [format, file] of [
    ['yaml', files.yaml],
    ['json', files.json],
  ] as const) {
    const m = measure('load', file, repeat);
    const mb = (statSync(file).size / 1e6).toFixed(1);
    if (typeof m === 'string' || typeof base === 'string') {
      rows.push([
        String(files.jobs),
        format,
        mb,
        typeof m === 'string' ? m : '-',
        '',
        '',
        '',
        typeof base === 'string' ? base : fmt(base.totalMs),
        '',
        '',
      ]);
      continue;
    }
    const ratio = m.totalMs / base.totalMs;
    rows.push([
      String(m.jobs),
      format,
      mb,
      fmt(m.parseMs),
      fmt(m.planMs),
      fmt(m.totalMs),
      m.maxRssMb.toFixed(0),
      fmt(base.totalMs),
      base.maxRssMb.toFixed(0),
      `${ratio.toFixed(2)}x`,
    ]);
    if (size === 100_000 && format === 'yaml') {
      verdict = `100k jobs from YAML: ${ratio.toFixed(2)}x the JSON.parse+toposort baseline (budget 6x, aim 2x): ${ratio <= 6 ? 'WITHIN BUDGET' : 'OVER BUDGET'}`;
    }
  }
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]): string =>
  '| ' + cells.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |';
console.log(line(header));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const r of rows) console.log(line(r));
if (verdict) console.log('\n' + verdict);
