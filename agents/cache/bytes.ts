/**
 * Byte sizes as people write them in config (`--cache-size 10GiB`, `500MB`, `10%`), and back
 * for messages. Units: B, and k/M/G/T/P with `B` (powers of 1000: `500MB`) or `iB` (powers
 * of 1024: `10GiB`); a bare `K/M/G/T/P` is binary (`10G` = 10 GiB, as df and du mean it).
 * Case of the unit letter does not matter. `N%` is a share of the filesystem's size.
 */

/** What a size setting asks for: a byte count, or a share of the filesystem holding the dir. */
export type SizeSpec = { bytes: number } | { fraction: number };

const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const BINARY: Record<string, number> = {
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*(?:([kmgtp])(i?b)?|(b))?$/i;
const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

const HINT =
  "use bytes with a unit (e.g. '10GiB', '500MB', '1048576') or a share of the disk ('10%')";

/** Bytes of `text`, or a sentence saying what is wrong with it. */
export function parseBytes(text: string): number | string {
  const m = SIZE.exec(text.trim());
  if (!m?.[1]) return `'${text}' is not a size: ${HINT}`;
  const n = Number(m[1]);
  const letter = m[2]?.toLowerCase();
  let factor = 1;
  if (letter !== undefined) {
    const suffix = (m[3] ?? '').toLowerCase();
    factor = (suffix === 'b' ? DECIMAL : BINARY)[letter] ?? NaN;
  }
  const bytes = Math.floor(n * factor);
  if (!Number.isSafeInteger(bytes)) return `'${text}' is too large`;
  return bytes;
}

/** A size setting: bytes (see parseBytes) or `N%` (0 < N <= 100) of the filesystem. */
export function parseSizeSpec(text: string): SizeSpec | string {
  const p = PERCENT.exec(text.trim());
  if (p?.[1]) {
    const pct = Number(p[1]);
    if (!(pct > 0 && pct <= 100)) return `'${text}' must be a share above 0% and at most 100%`;
    return { fraction: pct / 100 };
  }
  const bytes = parseBytes(text);
  return typeof bytes === 'string' ? bytes : { bytes };
}

/** 10737418240 → `10 GiB` (binary units, up to 3 significant digits), for messages. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const shown =
    u === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${shown.replace(/\.0+$|(\.\d*?)0+$/, '$1')} ${units[u]}`;
}
