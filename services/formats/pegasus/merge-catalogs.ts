/**
 * Combine a workflow's inline catalogs with catalog files.
 *
 * Precedence (as in Pegasus, where a catalog inlined in the workflow wins over the
 * configured catalog file): an inline entry REPLACES a file entry with the same key, every
 * other entry of both is kept. Keys: replicas by (lfn, regex), transformations by
 * (namespace, name, version), containers by name, sites by name. Order: inline entries first
 * (as written), then the remaining file entries (as written). Duplicates within one source
 * are kept as written (e.g. two locations of one lfn in one replica file).
 */
import type {
  Container,
  Replica,
  ReplicaCatalog,
  Site,
  SiteCatalog,
  Transformation,
  TransformationCatalog,
} from '../../model/types.js';

function mergeBy<T>(inline: readonly T[], file: readonly T[], key: (t: T) => string): T[] {
  if (inline.length === 0) return [...file];
  if (file.length === 0) return [...inline];
  const taken = new Set(inline.map(key));
  return [...inline, ...file.filter((t) => !taken.has(key(t)))];
}

const replicaKey = (r: Replica): string => `${r.regex ? 're' : 'lfn'}\u0000${r.lfn}`;
const transformationKey = (t: Transformation): string =>
  `${t.namespace ?? ''}\u0000${t.name}\u0000${t.version ?? ''}`;
const containerKey = (c: Container): string => c.name;
const siteKey = (s: Site): string => s.name;

export function mergeReplicaCatalogs(
  inline: ReplicaCatalog | undefined,
  file: ReplicaCatalog | undefined,
): ReplicaCatalog {
  return { replicas: mergeBy(inline?.replicas ?? [], file?.replicas ?? [], replicaKey) };
}

export function mergeTransformationCatalogs(
  inline: TransformationCatalog | undefined,
  file: TransformationCatalog | undefined,
): TransformationCatalog {
  return {
    transformations: mergeBy(
      inline?.transformations ?? [],
      file?.transformations ?? [],
      transformationKey,
    ),
    containers: mergeBy(inline?.containers ?? [], file?.containers ?? [], containerKey),
  };
}

export function mergeSiteCatalogs(
  inline: SiteCatalog | undefined,
  file: SiteCatalog | undefined,
): SiteCatalog {
  return { sites: mergeBy(inline?.sites ?? [], file?.sites ?? [], siteKey) };
}
