/**
 * Replica catalog lookups: exact entries by lfn, and regex entries (Pegasus `regex: true`:
 * the lfn is a Java-style regular expression matched against the whole name; pfns may use
 * `[0]` for the whole match and `[1]`, `[2]`... for groups). Plain-path pfns become file://
 * URLs. Locations come back in catalog order (exact entries first); callers order them by
 * site preference.
 */
import type { Checksum, Replica, ReplicaCatalog } from '../model/index.js';
import type { ProblemList } from './problems.js';

export interface Location {
  url: string;
  site: string;
  checksum?: Checksum;
}

interface RegexReplica {
  re: RegExp;
  replica: Replica;
}

export class ReplicaIndex {
  private readonly exact = new Map<string, Replica[]>();
  private readonly regex: RegexReplica[] = [];

  constructor(catalog: ReplicaCatalog, source: string, problems: ProblemList) {
    for (const r of catalog.replicas) {
      if (!r.regex) {
        const list = this.exact.get(r.lfn);
        if (list) list.push(r);
        else this.exact.set(r.lfn, [r]);
        continue;
      }
      try {
        this.regex.push({ re: new RegExp(`^(?:${r.lfn})$`), replica: r });
      } catch (e) {
        problems.add('bad replica regex', {
          where: `${source}: replica ${r.lfn}`,
          message: `regex replica ${JSON.stringify(r.lfn)} is not a valid regular expression (${e instanceof Error ? e.message : String(e)})`,
          hint: 'fix the pattern, or set regex: false for a plain lfn',
        });
      }
    }
  }

  /** Registered under exactly this name (data reuse only trusts these). */
  hasExact(lfn: string): boolean {
    return this.exact.has(lfn);
  }

  has(lfn: string): boolean {
    if (this.exact.has(lfn)) return true;
    for (const { re } of this.regex) if (re.test(lfn)) return true;
    return false;
  }

  locations(lfn: string): Location[] {
    const out: Location[] = [];
    for (const r of this.exact.get(lfn) ?? []) {
      for (const p of r.pfns) out.push(withChecksum({ url: toUrl(p.pfn), site: p.site }, r));
    }
    for (const { re, replica } of this.regex) {
      const m = re.exec(lfn);
      if (!m) continue;
      for (const p of replica.pfns) {
        const pfn = p.pfn.replace(/\[(\d+)\]/g, (_, g: string) => m[Number(g)] ?? '');
        out.push(withChecksum({ url: toUrl(pfn), site: p.site }, replica));
      }
    }
    return out;
  }
}

function withChecksum(loc: Location, r: Replica): Location {
  if (r.checksum) loc.checksum = r.checksum;
  return loc;
}

/** A pfn as a URL: absolute paths become file:// URLs; URLs are kept as written. */
export function toUrl(pfn: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(pfn)) return pfn;
  if (pfn.startsWith('/')) return `file://${pfn}`;
  return pfn;
}

/** A base URL that ends in '/', so `base + lfn` is a location. */
export function asBaseUrl(urlOrPath: string): string {
  const u = toUrl(urlOrPath);
  return u.endsWith('/') ? u : `${u}/`;
}

/**
 * Order locations for a consumer on `site`: the same site first, then `local`, then the
 * rest, each group in catalog order; repeated URLs dropped.
 */
export function orderLocations(locations: readonly Location[], site: string): Location[] {
  const rank = (l: Location): number => (l.site === site ? 0 : l.site === 'local' ? 1 : 2);
  const seen = new Set<string>();
  const out: Location[] = [];
  for (const r of [0, 1, 2]) {
    for (const l of locations) {
      if (rank(l) !== r || seen.has(l.url)) continue;
      seen.add(l.url);
      out.push(l);
    }
  }
  return out;
}
