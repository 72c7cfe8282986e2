/**
 * Byte sizes as workflows and catalogs write them: `2048`, `10MB`, `1.5 GiB`. Units are
 * binary whether or not the `i` is written (k = 1024), as the Pegasus YAML reader reads
 * sizes (services/formats), so one size means the same number of bytes everywhere.
 */

const UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** Bytes (rounded up to a whole byte), or undefined when `text` is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const [, digits = '', unit = '', suffix] = m;
  if (unit === '' && suffix !== undefined && suffix.toLowerCase() !== 'b') return undefined;
  const n = Number(digits) * (UNITS[unit.toLowerCase()] ?? 1);
  return Number.isFinite(n) ? Math.ceil(n) : undefined;
}

/** `1536` -> "1536 B (1.5 KiB)": exact bytes for checking, a readable size for people. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u < 0) return `${bytes} B`;
  const shown = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${bytes} B (${shown} ${units[u]})`;
}
