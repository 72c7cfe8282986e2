/**
 * The shipped examples run end to end through `aloft run`, and their outputs are checked
 * against an independent computation — not just for existence. Their committed YAML must be
 * exactly what the TypeScript programs that define them write.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { aloft, REPO } from './helpers/cli.js';
import { diamond } from '../examples/diamond/workflow.js';
import { radar, ALERT_MM, SCAN_MINUTES } from '../examples/radar/workflow.js';
import { GRID, SCANS, scanCsv, scanName } from '../examples/radar/make-data.js';
import { parseYaml } from '../services/formats/index.js';

const EXAMPLES = path.join(REPO, 'examples');

async function runExample(name: string): Promise<{ out: string; runDir: string }> {
  const cwd = await mkdtemp(path.join(os.tmpdir(), `aloft-example-${name}-`));
  const r = await aloft(['run', path.join(EXAMPLES, name, 'workflow.yml'), '--slots', '2'], {
    cwd,
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`workflow ${name} succeeded`));
  return { out: path.join(cwd, 'outputs'), runDir: path.join(cwd, 'runs', `${name}-001`) };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('examples', () => {
  it('committed workflow.yml files are what the TypeScript definitions write', () => {
    expect(readFileSync(path.join(EXAMPLES, 'diamond', 'workflow.yml'), 'utf8')).toBe(
      diamond().toYaml(),
    );
    expect(readFileSync(path.join(EXAMPLES, 'radar', 'workflow.yml'), 'utf8')).toBe(
      radar().toYaml(),
    );
  });

  it('committed radar scans are what make-data generates', () => {
    for (let s = 0; s < SCANS; s++) {
      const gz = readFileSync(path.join(EXAMPLES, 'radar', 'data', scanName(s)));
      expect(gunzipSync(gz).toString('utf8')).toBe(scanCsv(s));
    }
  });

  it('diamond: sorted both ways and pasted side by side', async () => {
    const { out, runDir } = await runExample('diamond');
    const input = readFileSync(path.join(EXAMPLES, 'diamond', 'f.a'), 'utf8')
      .trim()
      .split('\n')
      .map(Number);
    const up = [...input].sort((a, b) => a - b);
    const down = [...input].sort((a, b) => b - a);
    expect(await readFile(path.join(out, 'f.c1'), 'utf8')).toBe(up.join('\n') + '\n');
    expect(await readFile(path.join(out, 'f.c2'), 'utf8')).toBe(down.join('\n') + '\n');
    const fd = await readFile(path.join(out, 'f.d'));
    expect(fd.toString('utf8')).toBe(up.map((u, i) => `${u}\t${down[i]}`).join('\n') + '\n');
    // Registered in the output replica catalog with its real checksum.
    const rc = parseYaml(
      await readFile(path.join(runDir, 'output-replicas.yml'), 'utf8'),
      'rc',
    ) as {
      replicas: { lfn: string; pfns: { pfn: string }[]; checksum?: { sha256: string } }[];
    };
    const entry = rc.replicas.find((r) => r.lfn === 'f.d');
    expect(entry?.checksum?.sha256).toBe(sha256(fd));
    expect(entry?.pfns[0]?.pfn).toBe(`file://${path.join(out, 'f.d')}`);
    // Intermediate files never reach the output directory.
    expect(() => readFileSync(path.join(out, 'f.b1'))).toThrow();
  });

  it('radar: accumulation grid and alerts match an independent computation', async () => {
    const { out } = await runExample('radar');
    // Same arithmetic as the workflow's awk programs, done here in TypeScript.
    const acc = new Map<string, number>();
    for (let s = 0; s < SCANS; s++) {
      for (const line of scanCsv(s).trim().split('\n').slice(1)) {
        const [x, y, dbz] = line.split(',').map(Number) as [number, number, number];
        const rate = Number(((10 ** (dbz / 10) / 200) ** (1 / 1.6)).toFixed(3));
        const key = `${x},${y}`;
        acc.set(key, (acc.get(key) ?? 0) + (rate * SCAN_MINUTES) / 60);
      }
    }
    const grid = (await readFile(path.join(out, 'accumulation.csv'), 'utf8')).trim().split('\n');
    expect(grid).toHaveLength(GRID * GRID);
    let previous = -1;
    for (const line of grid) {
      const [x, y, mm] = line.split(',').map(Number) as [number, number, number];
      expect(x * GRID + y).toBeGreaterThan(previous); // sorted by cell
      previous = x * GRID + y;
      expect(mm).toBeCloseTo(acc.get(`${x},${y}`)!, 2);
    }
    const expected = [...acc]
      .filter(([, mm]) => mm >= ALERT_MM)
      .map(([cell]) => cell)
      .sort();
    // No cell sits so close to the threshold that rounding could flip it.
    for (const mm of acc.values()) expect(Math.abs(mm - ALERT_MM)).toBeGreaterThan(0.002);
    const alerts = (await readFile(path.join(out, 'alerts.txt'), 'utf8')).trim().split('\n');
    expect(alerts.length).toBeGreaterThan(10);
    for (const a of alerts) expect(a).toMatch(/^ALERT cell=\d+,\d+ rain=\d+\.\d{3}mm$/);
    expect(alerts.map((a) => /cell=(\d+,\d+)/.exec(a)![1]).sort()).toEqual(expected);
  });
});
