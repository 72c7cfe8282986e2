/** "Did you mean" for unknown keys: the nearest known name, if it is near enough. */

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** Case, `_` and `-` do not count: `work_dir`, `WORK-DIR` and `workdir` all mean `workDir`. */
const norm = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');

/** The candidate nearest to `name` within a distance of max(1, ⌊len/4⌋) after normalising. */
export function didYouMean(name: string, candidates: readonly string[]): string | undefined {
  const n = norm(name);
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(n.length / 4)) + 1;
  for (const c of candidates) {
    const d = distance(n, norm(c));
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
