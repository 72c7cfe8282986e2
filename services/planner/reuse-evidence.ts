/**
 * Finding a workflow's existing outputs before planning, for `--reuse` (PlanOptions.existing).
 * This is the planner's only module that does I/O, and plan() never calls it: a command calls
 * it and passes the result in the options, so plan() stays pure and its inputs are recorded
 * in the plan (a resume plans again with the same evidence).
 *
 * For every output lfn of the workflow (file uses with link output or checkpoint, stdout and
 * stderr):
 * - the output replica catalogs of earlier runs (services/run output-replicas.yml, oldest
 *   first) give the sha256 the newest run recorded, and the pfns it registered;
 * - each candidate location — the output store (`outputStore` + lfn) and every recorded pfn —
 *   is looked at: a file:// copy is stat'ed, and hashed (sha256, streaming) when a checksum
 *   is known to compare with (recorded, or in the replica catalog); other schemes are asked
 *   through lib/store when a store serves them (s3: the object's sha256 metadata; http: HEAD),
 *   and skipped when none does or it cannot be reached (no evidence: the job runs);
 * - a recorded pfn where nothing is found any more is reported as gone (`present: false`).
 * The result is sorted by lfn and URL, so the same files give the same plan.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { filePathOf, storeFor, type StoreResolver } from '../../lib/store/index.js';
import type { LoadedWorkflow } from '../model/index.js';
import { readOutputReplicas } from '../run/index.js';
import type { ExistingFile } from './plan-types.js';
import { toUrl } from './replicas.js';

export interface FindExistingOptions {
  /** Output replica catalog files of earlier runs, oldest first, each with a name for messages. */
  catalogs: readonly { file: string; run: string }[];
  /** Base URL (ending in '/') the output store is read through. */
  outputStore: string;
  outputSite: string;
  /** Locations looked at at once (default 16). */
  parallel?: number;
  /**
   * Which store serves a URL (default: the registry). The caller passes one that knows the
   * site catalog's S3 settings (siteS3Routes), so outputs on a site's S3 store are found at
   * that site's endpoint.
   */
  storeFor?: StoreResolver;
  signal?: AbortSignal;
}

interface Record {
  sha256?: string;
  by: string;
  pfns: { url: string; site: string }[];
}

/** Every output lfn of the workflow. */
export function outputLfns(loaded: LoadedWorkflow): Set<string> {
  const out = new Set<string>();
  for (const job of loaded.workflow.jobs) {
    for (const u of job.uses) if (u.link !== 'input') out.add(u.lfn);
    if (job.stdout) out.add(job.stdout);
    if (job.stderr) out.add(job.stderr);
  }
  return out;
}

export async function findExistingOutputs(
  loaded: LoadedWorkflow,
  o: FindExistingOptions,
): Promise<ExistingFile[]> {
  const wanted = outputLfns(loaded);
  const catalogSums = new Map<string, string>();
  for (const r of loaded.replicas.replicas) {
    if (!r.regex && r.checksum && wanted.has(r.lfn)) catalogSums.set(r.lfn, r.checksum.value);
  }
  const records = new Map<string, Record>();
  for (const c of o.catalogs) {
    o.signal?.throwIfAborted();
    for (const e of readOutputReplicas(c.file)) {
      if (!wanted.has(e.lfn)) continue;
      let rec = records.get(e.lfn);
      if (!rec) records.set(e.lfn, (rec = { by: c.run, pfns: [] }));
      if (e.sha256) {
        rec.sha256 = e.sha256.toLowerCase();
        rec.by = c.run;
      }
      const url = toUrl(e.pfn);
      if (!rec.pfns.some((p) => p.url === url)) rec.pfns.push({ url, site: e.site });
    }
  }

  interface Candidate {
    lfn: string;
    url: string;
    site: string;
    recordedHere: boolean;
  }
  const candidates: Candidate[] = [];
  for (const lfn of [...wanted].sort()) {
    const rec = records.get(lfn);
    const store = o.outputStore + lfn;
    candidates.push({
      lfn,
      url: store,
      site: o.outputSite,
      recordedHere: rec?.pfns.some((p) => p.url === store) ?? false,
    });
    for (const p of rec?.pfns ?? []) {
      if (p.url !== store) candidates.push({ lfn, url: p.url, site: p.site, recordedHere: true });
    }
  }

  const found: (ExistingFile | undefined)[] = new Array(candidates.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < candidates.length) {
      const i = next++;
      const c = candidates[i]!;
      const rec = records.get(c.lfn);
      const expected = catalogSums.get(c.lfn) ?? rec?.sha256;
      const seen = await look(c.url, expected !== undefined, o.storeFor ?? storeFor, o.signal);
      if (seen === undefined) continue; // could not tell: no evidence
      if (!seen.present && !c.recordedHere) continue; // never there, nobody said it was
      const e: ExistingFile = { lfn: c.lfn, url: c.url, site: c.site, present: seen.present };
      if (seen.sha256 !== undefined) e.sha256 = seen.sha256;
      if (rec?.sha256 !== undefined) e.recorded = { sha256: rec.sha256, by: rec.by };
      if (seen.size !== undefined) e.size = seen.size;
      found[i] = e;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.parallel ?? 16) }, worker));
  return found.filter((e): e is ExistingFile => e !== undefined);
}

interface Seen {
  present: boolean;
  sha256?: string;
  size?: number;
}

/** What is at `url`; undefined when it cannot be told (no store for it, unreachable). */
async function look(
  url: string,
  hash: boolean,
  stores: StoreResolver,
  signal?: AbortSignal,
): Promise<Seen | undefined> {
  signal?.throwIfAborted();
  if (/^file:/i.test(url)) {
    let file: string;
    try {
      file = filePathOf(url);
    } catch {
      return undefined;
    }
    let st;
    try {
      st = await stat(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { present: false };
      return undefined;
    }
    if (!st.isFile()) return { present: false };
    if (!hash) return { present: true, size: st.size };
    const h = createHash('sha256');
    try {
      for await (const chunk of createReadStream(file, signal ? { signal } : {})) {
        h.update(chunk as Buffer);
      }
    } catch (e) {
      signal?.throwIfAborted();
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { present: false };
      return undefined;
    }
    return { present: true, size: st.size, sha256: h.digest('hex') };
  }
  try {
    const st = await stores(url).stat(url, signal ? { signal } : {});
    if (!st) return { present: false };
    const out: Seen = { present: true, size: st.size };
    if (st.sha256) out.sha256 = st.sha256.toLowerCase();
    return out;
  } catch {
    // No store serves the scheme here, or it could not be reached: no evidence either way.
    signal?.throwIfAborted();
    return undefined;
  }
}
