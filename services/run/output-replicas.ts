/**
 * The output replica catalog of a run, `${runDir}/output-replicas.yml`: where the run's
 * registered outputs are (lfn -> pfn at a site, with sha256 and size when known), written as
 * a Pegasus 5 replica catalog so Pegasus tools and a later `aloft run --replicas` read it.
 * `register` jobs append to it; every change rewrites the file atomically, one write at a
 * time, so a crash leaves the previous complete catalog.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { AloftError } from '../../lib/errors/index.js';
import { writeFileAtomic } from './atomic-write.js';

export const OUTPUT_REPLICAS_FILE = 'output-replicas.yml';

export interface OutputReplica {
  lfn: string;
  pfn: string;
  site: string;
  sha256?: string;
  size?: number;
}

interface Row {
  lfn: string;
  pfns: { site: string; pfn: string }[];
  sha256?: string;
  size?: number;
}

/** Parse a catalog we (or Pegasus) wrote; lenient about what it does not need. */
function parseCatalog(text: string, file: string): OutputReplica[] {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.JSON_SCHEMA });
  } catch (e) {
    throw new AloftError('DATA_LOSS', `${file}: not valid YAML (${(e as Error).message})`);
  }
  const replicas = (doc as { replicas?: unknown } | null)?.replicas;
  if (!Array.isArray(replicas)) return [];
  const out: OutputReplica[] = [];
  for (const r of replicas as Record<string, unknown>[]) {
    if (typeof r?.['lfn'] !== 'string' || !Array.isArray(r['pfns'])) continue;
    const checksum = r['checksum'] as { sha256?: unknown } | undefined;
    const metadata = r['metadata'] as { size?: unknown } | undefined;
    const size = Number(metadata?.size);
    for (const p of r['pfns'] as Record<string, unknown>[]) {
      if (typeof p?.['pfn'] !== 'string') continue;
      out.push({
        lfn: r['lfn'],
        pfn: p['pfn'],
        site: typeof p['site'] === 'string' ? p['site'] : 'local',
        ...(typeof checksum?.sha256 === 'string' ? { sha256: checksum.sha256 } : {}),
        ...(Number.isFinite(size) && metadata?.size !== undefined ? { size } : {}),
      });
    }
  }
  return out;
}

/** The entries of a catalog file; [] when it does not exist. */
export function readOutputReplicas(file: string): OutputReplica[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return parseCatalog(text, file);
}

export class OutputReplicaCatalog {
  private readonly rows = new Map<string, Row>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(readonly file: string) {}

  /** Open (or start) the catalog at `file`, keeping what an earlier process registered. */
  static open(file: string): OutputReplicaCatalog {
    const c = new OutputReplicaCatalog(file);
    for (const r of readOutputReplicas(file)) c.merge(r);
    return c;
  }

  entries(): OutputReplica[] {
    const out: OutputReplica[] = [];
    for (const row of this.rows.values()) {
      for (const p of row.pfns) {
        out.push({
          lfn: row.lfn,
          pfn: p.pfn,
          site: p.site,
          ...(row.sha256 ? { sha256: row.sha256 } : {}),
          ...(row.size !== undefined ? { size: row.size } : {}),
        });
      }
    }
    return out;
  }

  lfns(): string[] {
    return [...this.rows.keys()];
  }

  /**
   * Add entries (idempotent: an lfn/site/pfn already present is not repeated) and rewrite
   * the file atomically; resolves once the new catalog is durable.
   */
  add(entries: OutputReplica[], options: { signal?: AbortSignal } = {}): Promise<void> {
    for (const e of entries) this.merge(e);
    const text = this.render();
    const next = this.writing.then(() => writeFileAtomic(this.file, text, options));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private merge(e: OutputReplica): void {
    let row = this.rows.get(e.lfn);
    if (!row) {
      row = { lfn: e.lfn, pfns: [] };
      this.rows.set(e.lfn, row);
    }
    if (!row.pfns.some((p) => p.pfn === e.pfn && p.site === e.site)) {
      row.pfns.push({ site: e.site, pfn: e.pfn });
    }
    if (e.sha256) row.sha256 = e.sha256;
    if (e.size !== undefined) row.size = e.size;
  }

  private render(): string {
    const replicas = [...this.rows.values()].map((r) => ({
      lfn: r.lfn,
      pfns: r.pfns.map((p) => ({ site: p.site, pfn: p.pfn })),
      ...(r.sha256 ? { checksum: { sha256: r.sha256 } } : {}),
      ...(r.size !== undefined ? { metadata: { size: String(r.size) } } : {}),
    }));
    return (
      '# Output replica catalog written by aloft: the registered outputs of this run.\n' +
      yaml.dump({ pegasus: '5.0', replicas }, { lineWidth: -1, noRefs: true })
    );
  }
}
