/**
 * Regenerates the radar example's input scans (data/scan_NNN.csv.gz): a storm cell moving
 * across a 24×24 grid over twelve 5-minute scans, in the style of a CASA X-band radar
 * reflectivity product (x, y, dBZ). Deterministic; the committed files came from this.
 *
 *   node dist/examples/radar/make-data.js [DIR]
 */
import { gzipSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const GRID = 24;
export const SCANS = 12;

export function scanCsv(scan: number): string {
  let seed = 12345 + scan * 7919;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const cx = 3 + scan * 1.6;
  const cy = 6 + scan * 0.9;
  const lines = ['x,y,dbz'];
  for (let x = 0; x < GRID; x++) {
    for (let y = 0; y < GRID; y++) {
      const d2 = (x - cx) ** 2 + (y - cy) ** 2;
      const core = 52 * Math.exp(-d2 / (2 * 3.2 ** 2));
      const dbz = Math.max(0, core + 8 * rand() - 2);
      lines.push(`${x},${y},${dbz.toFixed(1)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function scanName(scan: number): string {
  return `scan_${String(scan + 1).padStart(3, '0')}.csv.gz`;
}

const here = path.dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? path.resolve(here, '..', '..', '..', 'examples', 'radar', 'data');
  mkdirSync(dir, { recursive: true });
  for (let s = 0; s < SCANS; s++) {
    writeFileSync(path.join(dir, scanName(s)), gzipSync(scanCsv(s), { level: 9 }));
  }
  console.log(`wrote ${SCANS} scans to ${dir}`);
}
