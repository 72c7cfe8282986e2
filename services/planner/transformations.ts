/**
 * Transformation catalog lookups (Pegasus 5 semantics): a job matches an entry by name; if
 * both job and entry give a namespace they must be equal, same for the version. Among
 * several matches the most specific wins (namespace, then version agreeing), then catalog
 * order. Lookups are cached per (namespace, name, version): a 1M-job workflow has a handful
 * of distinct transformations.
 */
import type { Job, Transformation, TransformationCatalog } from '../model/index.js';

export class TransformationIndex {
  private readonly byName = new Map<string, number[]>();
  private readonly cache = new Map<string, number>();
  private readonly bareCache = new Map<string, number>();

  constructor(readonly catalog: TransformationCatalog) {
    catalog.transformations.forEach((t, i) => {
      const list = this.byName.get(t.name);
      if (list) list.push(i);
      else this.byName.set(t.name, [i]);
    });
  }

  /** Index into catalog.transformations, or -1. */
  find(job: Pick<Job, 'name' | 'namespace' | 'version'>): number {
    // Most jobs give a bare name: cache those by name, without building a key string.
    const bare = job.namespace === undefined && job.version === undefined;
    const key = bare
      ? job.name
      : `${job.namespace ?? ''}\u0000${job.name}\u0000${job.version ?? ''}`;
    const cache = bare ? this.bareCache : this.cache;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let best = -1;
    let bestScore = -1;
    for (const i of this.byName.get(job.name) ?? []) {
      const t = this.catalog.transformations[i]!;
      const nsBoth = job.namespace !== undefined && t.namespace !== undefined;
      const verBoth = job.version !== undefined && t.version !== undefined;
      if (nsBoth && job.namespace !== t.namespace) continue;
      if (verBoth && job.version !== t.version) continue;
      const score = (nsBoth ? 2 : 0) + (verBoth ? 1 : 0);
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    cache.set(key, best);
    return best;
  }

  get(i: number): Transformation {
    return this.catalog.transformations[i]!;
  }

  /** Why `job` matched nothing, and what to do about it. */
  explainMiss(job: Pick<Job, 'name' | 'namespace' | 'version'>): {
    message: string;
    hint: string;
  } {
    const wanted = displayName(job);
    const message = `transformation ${wanted} is not in the transformation catalog`;
    const sameName = this.byName.get(job.name) ?? [];
    if (sameName.length > 0) {
      const have = sameName.map((i) => displayName(this.get(i))).join(', ');
      return {
        message,
        hint: `the catalog has ${have}; make the job's namespace/version match or add an entry for ${wanted}`,
      };
    }
    const names = [...this.byName.keys()];
    if (names.length === 0) {
      return {
        message,
        hint: 'the transformation catalog is empty; pass one with --transformations FILE or inline it in the workflow',
      };
    }
    const close = closeNames(job.name, names);
    if (close.length > 0) {
      return {
        message,
        hint: `did you mean ${close.join(' or ')}? (or add ${wanted} to the transformation catalog)`,
      };
    }
    const shown = names.slice(0, 10).join(', ');
    return {
      message,
      hint: `add ${wanted} to the transformation catalog; it has ${shown}${names.length > 10 ? ` and ${names.length - 10} more` : ''}`,
    };
  }
}

/** `namespace::name:version` as Pegasus prints a transformation. */
export function displayName(t: { name: string; namespace?: string; version?: string }): string {
  return `${t.namespace ? `${t.namespace}::` : ''}${t.name}${t.version ? `:${t.version}` : ''}`;
}

/** Up to three catalog names within a small edit distance of `name`, closest first. */
export function closeNames(name: string, candidates: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  const scored: { c: string; d: number }[] = [];
  for (const c of candidates) {
    if (Math.abs(c.length - name.length) > limit) continue;
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d <= limit) scored.push({ c, d });
  }
  scored.sort((a, b) => a.d - b.d || (a.c < b.c ? -1 : a.c > b.c ? 1 : 0));
  return scored.slice(0, 3).map((s) => s.c);
}

export function editDistance(a: string, b: string): number {
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}
