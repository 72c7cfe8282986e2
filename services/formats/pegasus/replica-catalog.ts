/**
 * Pegasus 5 replica catalog (rc-5.0.yml): where input files already exist. Standalone file
 * (`replicas.yml`) or inline in a workflow (`replicaCatalog:`).
 */
import { AloftError } from '../../../lib/errors/index.js';
import type { Replica, ReplicaCatalog, ReplicaLocation } from '../../model/types.js';
import { readChecksum, readMetadata, readCatalogHeader } from './common.js';
import { DocReader, KeyPath, describe } from './doc-reader.js';

const CATALOG_KEYS: ReadonlySet<string> = new Set(['pegasus', 'replicas']);
const REPLICA_KEYS: ReadonlySet<string> = new Set(['lfn', 'pfns', 'regex', 'checksum', 'metadata']);
const PFN_KEYS: ReadonlySet<string> = new Set(['site', 'pfn']);

/** Read a replica catalog map at `at` (the document root, or a workflow's `replicaCatalog`). */
export function readReplicaCatalog(
  r: DocReader,
  v: unknown,
  at: KeyPath,
  standalone: boolean,
): ReplicaCatalog {
  const out: ReplicaCatalog = { replicas: [] };
  const doc = readCatalogHeader(r, v, at, standalone, 'replica catalog', 'replicas');
  if (!doc) return out;
  r.checkKeys(doc, CATALOG_KEYS, at, 'the replica catalog');
  const listAt = at.key('replicas');
  const list = r.list(r.required(doc, 'replicas', at, 'the replica catalog'), listAt, undefined);
  if (!list) return out;
  for (let i = 0; i < list.length; i++) {
    const replica = readReplica(r, list[i], listAt.index(i));
    if (replica) out.replicas.push(replica);
  }
  return out;
}

function readReplica(r: DocReader, v: unknown, at: KeyPath): Replica | undefined {
  const obj = r.map(v, at, undefined, 'a replica (a map with lfn and pfns)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty replica entry');
    return undefined;
  }
  const rawLfn = obj['lfn'];
  const label = typeof rawLfn === 'string' ? r.expand(rawLfn, at) : undefined;
  const here = label === undefined ? at : at.labelled('lfn', label);
  r.checkKeys(obj, REPLICA_KEYS, here, 'a replica');
  const regex = r.bool(obj['regex'], here, 'regex') ?? false;
  const lfnAt = here.key('lfn');
  const lfnValue = r.required(obj, 'lfn', here, 'a replica');
  let lfn: string | undefined;
  if (regex) {
    lfn = r.string(lfnValue, lfnAt);
    if (lfn !== undefined) {
      try {
        new RegExp(`^(?:${lfn})$`);
      } catch (e) {
        r.problem(
          lfnAt,
          undefined,
          `regex ${describe(lfn)} does not compile: ${(e as Error).message}`,
          'regex replicas take a regular expression that matches whole lfns',
        );
        lfn = undefined;
      }
    }
  } else {
    lfn = lfnValue === undefined ? undefined : r.name(lfnValue, lfnAt, undefined, 'lfn');
  }
  const pfnsAt = here.key('pfns');
  const pfns = r.list(
    r.required(obj, 'pfns', here, 'a replica'),
    pfnsAt,
    undefined,
    'write pfns: [{site: local, pfn: file:///path/to/file}]',
  );
  const locations: ReplicaLocation[] = [];
  if (pfns) {
    for (let i = 0; i < pfns.length; i++) {
      const loc = readLocation(r, pfns[i], pfnsAt.index(i));
      if (loc) locations.push(loc);
    }
  }
  const checksum =
    obj['checksum'] === undefined ? undefined : readChecksum(r, obj['checksum'], here, 'checksum');
  const metadata = readMetadata(r, obj['metadata'], here, 'metadata');
  if (lfn === undefined || pfns === undefined) return undefined;
  const replica: Replica = { lfn, pfns: locations, regex, metadata };
  if (checksum) replica.checksum = checksum;
  return replica;
}

function readLocation(r: DocReader, v: unknown, at: KeyPath): ReplicaLocation | undefined {
  const obj = r.map(v, at, undefined, 'a location (a map with site and pfn)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty pfn entry');
    return undefined;
  }
  r.checkKeys(obj, PFN_KEYS, at, 'a pfn entry');
  const pfnValue = r.required(obj, 'pfn', at, 'a pfn entry');
  const pfn = r.string(pfnValue, at, 'pfn');
  const siteValue = r.required(obj, 'site', at, 'a pfn entry');
  const site = siteValue === undefined ? undefined : r.name(siteValue, at, 'site', 'site name');
  if (pfn === undefined || site === undefined) return undefined;
  if (pfn === '') {
    r.problem(at, 'pfn', 'pfn is empty');
    return undefined;
  }
  return { pfn, site };
}

/** Pure converter: a parsed replica catalog document → the model (throws on problems). */
export function replicaCatalogFromDocument(
  doc: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  warnings?: string[],
): ReplicaCatalog {
  const r = new DocReader(source, env, [], warnings);
  const rc = readReplicaCatalog(r, doc, KeyPath.root(), true);
  if (r.problems.length > 0) throw AloftError.invalid(r.problems);
  return rc;
}
