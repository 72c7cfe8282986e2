/**
 * Relative pfns, an aloft extension: a pfn that is neither a URL nor an absolute path is
 * resolved against the directory of the file that names it (the catalog file, or the
 * workflow file for inline catalogs). This lets a workflow and its data travel together —
 * `pfn: data/scan_001.csv.gz` works wherever the folder is checked out. Pegasus itself would
 * reject such a pfn, so no valid Pegasus file changes meaning.
 */
import path from 'node:path';
import type { ReplicaCatalog, TransformationCatalog } from '../../model/types.js';

const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

export function anchorPfn(pfn: string, baseDir: string): string {
  if (URL_SCHEME.test(pfn) || path.isAbsolute(pfn)) return pfn;
  return path.resolve(baseDir, pfn);
}

/** True when some location's pfn is relative (most catalogs have none: nothing is copied). */
function anyRelative(locations: readonly { pfn: string }[]): boolean {
  for (const l of locations) if (!URL_SCHEME.test(l.pfn) && !path.isAbsolute(l.pfn)) return true;
  return false;
}

export function anchorReplicaCatalog(rc: ReplicaCatalog, baseDir: string): ReplicaCatalog {
  return {
    replicas: rc.replicas.map((r) =>
      anyRelative(r.pfns)
        ? { ...r, pfns: r.pfns.map((p) => ({ ...p, pfn: anchorPfn(p.pfn, baseDir) })) }
        : r,
    ),
  };
}

export function anchorTransformationCatalog(
  tc: TransformationCatalog,
  baseDir: string,
): TransformationCatalog {
  return {
    ...tc,
    transformations: tc.transformations.map((t) => ({
      ...t,
      sites: t.sites.map((s) => ({ ...s, pfn: anchorPfn(s.pfn, baseDir) })),
    })),
  };
}
