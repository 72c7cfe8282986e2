/**
 * YAML loader micro-benchmark: a Montage-shaped Pegasus workflow written the way Pegasus'
 * Python API (PyYAML, block style, flow lists for arguments) writes it, parsed by
 * parseYaml's fast path, by js-yaml FAILSAFE, and — as the baseline — the same document as
 * JSON by JSON.parse. Prints a table; no timing is asserted anywhere.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/yaml.js [jobs=100000] [runs=5]
 */
import yaml from 'js-yaml';
import { performance } from 'node:perf_hooks';
import { parseYaml, type YamlParseStats } from '../services/formats/yaml/index.js';

/** PyYAML-style text for `jobs` jobs: ~300 bytes per job plus its dependencies. */
function montageYaml(jobs: number, flowUses = false): string {
  const out: string[] = [
    'x-pegasus:\n  apiLang: python\n  createdBy: aloft-bench\n  createdOn: 01-01-24T00:00:00Z\n',
    'pegasus: 5.0.4\nname: montage\njobs:\n',
  ];
  const kinds = ['mProject', 'mDiffFit', 'mBackground', 'mDiffFit'];
  for (let i = 0; i < jobs; i++) {
    const id = `ID${String(i + 1).padStart(7, '0')}`;
    const name = kinds[i % kinds.length]!;
    const a = `t${i}`;
    const b = `t${i + 1}`;
    let s = `- type: job\n  name: ${name}\n  id: ${id}\n`;
    s += `  arguments: [-X, ${a}.fits, p_${a}.fits, region.hdr, -T10, --quiet]\n  uses:\n`;
    const uses: [string, string][] = [
      [`${a}.fits`, 'input'],
      ['region.hdr', 'input'],
      [`p_${a}.fits`, 'output'],
    ];
    if (i % 2 === 0) uses.push([`p_${b}.fits`, 'input'], [`area_${a}.fits`, 'output']);
    if (i % 3 === 0) uses.push([`fit_${a}_${b}.txt`, 'output']);
    for (const [lfn, type] of uses) {
      if (flowUses) {
        s += `  - {lfn: ${lfn}, type: ${type}${type === 'output' ? ', stageOut: false, registerReplica: false' : ''}}\n`;
      } else {
        s += `  - lfn: ${lfn}\n    type: ${type}\n`;
        if (type === 'output') s += '    stageOut: false\n    registerReplica: false\n';
      }
    }
    out.push(s);
  }
  out.push('jobDependencies:\n');
  for (let i = 0; i + 1 < jobs; i += 2) {
    out.push(
      `- id: ID${String(i + 1).padStart(7, '0')}\n  children:\n  - ID${String(i + 2).padStart(7, '0')}\n`,
    );
  }
  return out.join('');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median wall-clock and CPU milliseconds (CPU includes the GC's helper threads). */
function time(runs: number, fn: () => unknown): { wall: number; cpu: number } {
  fn(); // warm up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

function main(): void {
  const jobs = Number(process.argv[2] ?? 100_000);
  const runs = Number(process.argv[3] ?? 5);
  const rows: string[][] = [
    ['input', 'bytes', 'bytes/job', 'parser', 'wall ms', 'MB/s', 'cpu ms', 'MB/s (cpu)'],
  ];
  const row = (
    input: string,
    bytes: number,
    parser: string,
    t: { wall: number; cpu: number },
  ): void => {
    const mbps = (ms: number): string => (bytes / 1e6 / (ms / 1e3)).toFixed(1);
    rows.push([
      input,
      String(bytes),
      String(Math.round(bytes / jobs)),
      parser,
      t.wall.toFixed(0),
      mbps(t.wall),
      t.cpu.toFixed(0),
      mbps(t.cpu),
    ]);
  };
  for (const flowUses of [false, true]) {
    const text = montageYaml(jobs, flowUses);
    const bytes = Buffer.byteLength(text);
    const label = flowUses ? 'yaml, flow-style uses' : 'yaml, block-style uses';
    const stats: YamlParseStats = {};
    parseYaml(text, 'bench.yml', undefined, stats);
    if (stats.path !== 'fast') throw new Error(`fast path not taken: ${stats.fallbackReason}`);
    row(
      label,
      bytes,
      'parseYaml (fast path)',
      time(runs, () => parseYaml(text, 'bench.yml')),
    );
    const jsYaml = () => yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA });
    row(label, bytes, 'js-yaml FAILSAFE', time(Math.min(runs, 3), jsYaml));
    if (!flowUses) {
      const json = JSON.stringify(parseYaml(text, 'bench.yml'));
      const jbytes = Buffer.byteLength(json);
      row(
        'same document as JSON',
        jbytes,
        'JSON.parse',
        time(runs, () => JSON.parse(json)),
      );
      row(
        'same document as JSON',
        jbytes,
        'parseYaml (json path)',
        time(runs, () => parseYaml(json, 'b.json')),
      );
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(
    `YAML loader, ${jobs} Montage-shaped jobs, median of ${runs} runs (Node ${process.version})`,
  );
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
}

main();
