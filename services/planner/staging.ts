/**
 * Data staging (Pegasus nonsharedfs: each compute site's store is its staging area).
 *
 * For each input of a kept compute job, in topological order:
 * - produced on a site sharing the consumer's store: nothing to move (the producer uploads);
 * - produced on a site with another store: one `inter_site` job per (lfn, destination store),
 *   run by the destination site, shared by all consumers there;
 * - otherwise (replica catalog, or an output a pruned job left in the output store or an
 *   earlier run recorded, verified by reuse): a transfer into the consumer's store with every
 *   known location as ordered sources (same site, then `local`, then others); each (lfn,
 *   store) staged once; transfers are grouped into `stage_in` jobs of at most STAGE_IN_FILES
 *   files by (store, level of the first consumer) in first-need order — or, for a store kept
 *   under a maxspace (`--cleanup constraint`), by (store, first consumer), so that files
 *   arrive just before the job that first needs them instead of a level's worth at once;
 * - bypass (the use says so, or the transformation/container has `bypass` and the file has a
 *   file: replica on the compute site or an http(s): one): no stage-in, the job reads the
 *   replica URL;
 * - a replica already at the store location: nothing to move, never deleted.
 * Outputs with stageOut get one `stage_out` job per compute job (or cluster) into the output
 * store; those also with registerReplica get a `register` job after it.
 *
 * Stores are written through their put URL and read through their get URL (stores.ts): job
 * outputs, stage-in and inter-site destinations and stage-out destinations use put; job
 * inputs, stage-out and inter-site sources and registered pfns use get.
 *
 * Every file that comes to live in a site store is recorded with the jobs that write and
 * read it there, for cleanup.
 */
import { IN_BYPASS, IN_FOR_PLANNING, OUT_OPTIONAL, OUT_REGISTER, OUT_STAGE } from './graph.js';
import type { Graph } from './graph.js';
import { NO_IDS, type PlanBuilder } from './plan-builder.js';
import type { Checksum, PlannedFile, PlannedJob, Registration, Transfer } from './plan-types.js';
import { HELPER_RESOURCES } from './profiles.js';
import type { ReasonLog } from './reasons.js';
import { orderLocations, type Location, type ReplicaIndex } from './replicas.js';
import { AVAIL_OUTPUT_STORE, type ReuseResult } from './reuse.js';
import { IntList } from './int-list.js';
import { listSome } from './problems.js';

export const STAGE_IN_FILES = 10;
/** Pegasus runs registration on the submit host. */
export const REGISTER_SITE = 'local';

export const REC_PRODUCED = 0;
export const REC_STAGED = 1;
export const REC_INTER_SITE = 2;

/**
 * Files living in site stores, for cleanup: one record per (lfn, store) with the node that
 * writes it there and the nodes that read it there. Integer linked lists, no per-record
 * objects: a 1M-job plan has millions of records.
 */
export class StoreFiles {
  readonly file: IntList;
  readonly store: IntList;
  readonly kind: IntList;
  /** Node that puts the file into the store. */
  readonly writer: IntList;
  /** Records that must never be deleted (a copy that would otherwise be lost). */
  readonly keep = new Set<number>();
  /** Shared entry for jobs reading the record's file from its store (plain data, read-only). */
  readonly entry: (PlannedFile | undefined)[] = [];
  private readonly nextOfFile: IntList;
  private readonly firstReader: IntList;
  private readonly readerNode: IntList;
  private readonly readerNext: IntList;
  private readonly headOfFile: Int32Array;

  /** `files`: lfns in the workflow; `uses`: expected records and reads (a sizing hint). */
  constructor(files: number, uses = 1024) {
    this.headOfFile = new Int32Array(files).fill(-1);
    this.file = new IntList(files);
    this.store = new IntList(files);
    this.kind = new IntList(files);
    this.writer = new IntList(files);
    this.nextOfFile = new IntList(files);
    this.firstReader = new IntList(files);
    this.readerNode = new IntList(uses);
    this.readerNext = new IntList(uses);
  }

  add(f: number, store: number, kind: number, writer: number): number {
    const r = this.file.length;
    this.file.push(f);
    this.store.push(store);
    this.kind.push(kind);
    this.writer.push(writer);
    this.firstReader.push(-1);
    this.nextOfFile.push(this.headOfFile[f]!);
    this.headOfFile[f] = r;
    this.entry.push(undefined);
    return r;
  }

  /** The record of file `f` in `store`, or -1. */
  find(f: number, store: number): number {
    for (let r = this.headOfFile[f]!; r !== -1; r = this.nextOfFile.data[r]!) {
      if (this.store.data[r] === store) return r;
    }
    return -1;
  }

  addReader(r: number, node: number): void {
    this.readerNode.push(node);
    this.readerNext.push(this.firstReader.data[r]!);
    this.firstReader.data[r] = this.readerNode.length - 1;
  }

  /** Readers of record `r` into `out` (unsorted, may repeat); returns how many. */
  readers(r: number, out: { buf: Int32Array }): number {
    let k = 0;
    for (let i = this.firstReader.data[r]!; i !== -1; i = this.readerNext.data[i]!) {
      if (k === out.buf.length) {
        const grown = new Int32Array(out.buf.length * 2);
        grown.set(out.buf);
        out.buf = grown;
      }
      out.buf[k++] = this.readerNode.data[i]!;
    }
    return k;
  }

  get size(): number {
    return this.file.length;
  }
}

/** Sites and their stores; sites with the same store (put) URL share one store index. */
export interface StoreMap {
  siteNames: readonly string[];
  /** Store index per site index. */
  siteStore: Int32Array;
  /** Base URL each store is written through (its identity). */
  storeUrls: string[];
  /** Base URL each store is read through (a get file server; usually the same). */
  storeGetUrls: string[];
  /** First site (index) using each store: the site that runs its helper jobs. */
  storeSite: number[];
  outputStore: string;
  /** Base URL the output store is read through (registered pfns). */
  outputGetStore: string;
  outputSite: string;
  /** Per store: 1 when it is kept under a maxspace (`--cleanup constraint`). */
  constrained: Uint8Array;
}

export interface StagingInput {
  g: Graph;
  kept: Uint8Array;
  avail: Uint8Array;
  /** Verified copies of outputs and replica URLs not to trust (reuse). */
  reuse: Pick<ReuseResult, 'copies' | 'distrusted'>;
  replicas: ReplicaIndex;
  stores: StoreMap;
  jobSite: Int32Array;
  level: Int32Array;
  /** Planned compute spec per job (undefined for pruned jobs). */
  compute: (PlannedJob | undefined)[];
  bypassInputs: Uint8Array;
  /** Plan node (compute job or its cluster) per job. */
  unitNode: Int32Array;
  /** Unit nodes in creation order. */
  units: number[];
  /** The job of each unit that is a single compute job (by position in `units`), else -1. */
  unitJob: Int32Array;
  /** Members of each cluster node, in topological order. */
  clusterMembers: Map<number, number[]>;
  defaultRetries: number;
  builder: PlanBuilder;
  reasons: ReasonLog;
  files: StoreFiles;
}

interface PendingStageIn {
  f: number;
  store: number;
  site: number;
  level: number;
  priority: number;
  sources: Location[];
  consumers: number[];
  /** The input entry every consumer shares. */
  entry: PlannedFile;
}

/** The entry of file `f` at `url` (positional extras: this runs for every use of every job). */
function fileEntry(
  g: Graph,
  f: number,
  url: string,
  checksum?: Checksum,
  optional = false,
): PlannedFile {
  const size = g.fileSize[f]!;
  const pf: PlannedFile = { lfn: g.fileNames[f]!, url };
  if (!Number.isNaN(size)) pf.size = size;
  if (checksum) pf.checksum = checksum;
  if (optional) pf.optional = true;
  return pf;
}

function helperJob(
  id: string,
  kind: PlannedJob['kind'],
  site: string,
  priority: number,
  retries: number,
): PlannedJob {
  return {
    id,
    kind,
    site,
    parents: NO_IDS,
    covers: NO_IDS,
    priority,
    retries,
    resources: HELPER_RESOURCES,
  };
}

export function stage(x: StagingInput): void {
  const { g, kept, avail, replicas, stores, jobSite, builder, reasons, files } = x;
  const { inputs, inputFlags, outputs, outputFlags, producer, fileNames } = g;
  const pending: PendingStageIn[] = [];
  /** Readers' entries of records in stores read through another URL than they are written. */
  const readEntryOf = new Map<number, PlannedFile>();
  const pendingAt: Map<number, number>[] = [];
  /** Replicas that already sit at their store location, per store. */
  const inPlaceAt: Map<number, PlannedFile>[] = [];
  const interAt: Map<number, number>[] = [];
  let interCount = 0;

  for (let k = 0; k < g.order.length; k++) {
    const j = g.order[k]!;
    if (!kept[j]) continue;
    const job = x.compute[j]!;
    const u = x.unitNode[j]!;
    const site = jobSite[j]!;
    const store = stores.siteStore[site]!;
    const base = stores.storeUrls[store]!;
    const getBase = stores.storeGetUrls[store]!;
    const sameUrls = getBase === base;

    for (let i = g.parents.start[j]!; i < g.parents.start[j + 1]!; i++) {
      const p = g.parents.items[i]!;
      if (kept[p]) builder.addEdge(x.unitNode[p]!, u);
    }

    // Arrays sized exactly: an empty array grown by push reserves 17 slots.
    const outs = new Array<PlannedFile>(outputs.start[j + 1]! - outputs.start[j]!);
    job.outputs = outs;
    for (let i = outputs.start[j]!; i < outputs.start[j + 1]!; i++) {
      const f = outputs.items[i]!;
      const r = files.add(f, store, REC_PRODUCED, u);
      const optional = (outputFlags[i]! & OUT_OPTIONAL) !== 0;
      const entry = fileEntry(g, f, base + fileNames[f]!, undefined, optional);
      if (!optional) files.entry[r] = entry;
      outs[i - outputs.start[j]!] = entry;
    }

    const ins = new Array<PlannedFile>(inputs.start[j + 1]! - inputs.start[j]!);
    let nIn = 0;
    for (let i = inputs.start[j]!; i < inputs.start[j + 1]!; i++) {
      const flags = inputFlags[i]!;
      if (flags & IN_FOR_PLANNING) continue;
      const f = inputs.items[i]!;
      const lfn = fileNames[f]!;
      const p = producer[f]!;
      if (p >= 0 && kept[p]) {
        if (flags & IN_BYPASS) {
          if (reasons.wants('stage')) {
            reasons.add(
              lfn,
              'stage',
              `bypass ignored for job ${job.id}: ${lfn} is produced by job ${g.jobs[p]!.id} in this workflow, so it is read from the ${stores.siteNames[site]} store`,
            );
          } else reasons.count('stage');
        }
        const pStore = stores.siteStore[jobSite[p]!]!;
        if (pStore !== store)
          builder.addEdge(interSite(f, p, pStore, site, store, job.priority), u);
        const r = files.find(f, store);
        files.addReader(r, u);
        if (sameUrls) ins[nIn++] = files.entry[r] ??= fileEntry(g, f, base + lfn);
        else {
          let e = readEntryOf.get(r);
          if (!e) readEntryOf.set(r, (e = fileEntry(g, f, getBase + lfn)));
          ins[nIn++] = e;
        }
        continue;
      }

      // Already decided for this (lfn, store)? Then only bypass could change the answer.
      if (!(flags & IN_BYPASS) && !x.bypassInputs[j]) {
        const t = pendingAt[store]?.get(f);
        if (t !== undefined) {
          pending[t]!.consumers.push(u);
          ins[nIn++] = pending[t]!.entry;
          continue;
        }
        const known = inPlaceAt[store]?.get(f);
        if (known) {
          ins[nIn++] = known;
          continue;
        }
      }
      const locs = orderLocations(locationsOf(f), stores.siteNames[site]!);
      const bypass =
        flags & IN_BYPASS
          ? locs[0]
          : x.bypassInputs[j]
            ? locs.find(
                (l) =>
                  /^https?:/i.test(l.url) ||
                  (/^file:/i.test(l.url) && l.site === stores.siteNames[site]),
              )
            : undefined;
      if (bypass) {
        if (reasons.wants('stage')) {
          reasons.add(
            lfn,
            'stage',
            `job ${job.id} reads ${lfn} in place from ${bypass.url} (${flags & IN_BYPASS ? 'bypass set on the file use' : 'transformation/container bypass'}); no stage-in`,
          );
        } else reasons.count('stage');
        ins[nIn++] = fileEntry(g, f, bypass.url, bypass.checksum);
        continue;
      }
      const dest = base + lfn;
      const there = locs.find((l) => l.url === dest || (!sameUrls && l.url === getBase + lfn));
      if (there) {
        if (reasons.wants('stage')) {
          reasons.add(
            lfn,
            'stage',
            `already in the ${stores.siteNames[site]} store at ${there.url}; not staged, never cleaned up`,
          );
        } else reasons.count('stage');
        const entry = fileEntry(g, f, getBase + lfn, there.checksum);
        (inPlaceAt[store] ??= new Map()).set(f, entry);
        ins[nIn++] = entry;
        continue;
      }
      const at = (pendingAt[store] ??= new Map());
      let t = at.get(f);
      if (t === undefined) {
        t = pending.length;
        at.set(f, t);
        pending.push({
          f,
          store,
          site,
          level: x.level[j]!,
          priority: job.priority,
          sources: locs,
          consumers: [],
          entry: fileEntry(g, f, getBase + lfn, locs.find((l) => l.checksum)?.checksum),
        });
      }
      pending[t]!.consumers.push(u);
      ins[nIn++] = pending[t]!.entry;
    }
    if (nIn < ins.length) ins.length = nIn; // forPlanning uses are not staged
    job.inputs = ins;
  }

  emitStageIns();
  emitStageOuts();

  function locationsOf(f: number): Location[] {
    let locs = replicas.locations(fileNames[f]!);
    const { copies, distrusted } = x.reuse;
    if (distrusted.size > 0) locs = locs.filter((l) => !distrusted.has(l.url));
    const verified = copies.get(f);
    if (verified) {
      for (const c of verified) if (!locs.some((l) => l.url === c.url)) locs.push(c);
    }
    if (avail[f]! & AVAIL_OUTPUT_STORE) {
      const url = stores.outputGetStore + fileNames[f]!;
      if (!locs.some((l) => l.url === url)) locs.push({ url, site: stores.outputSite });
    }
    return locs;
  }

  function interSite(
    f: number,
    p: number,
    pStore: number,
    site: number,
    store: number,
    priority: number,
  ): number {
    const at = (interAt[store] ??= new Map());
    const hit = at.get(f);
    if (hit !== undefined) return hit;
    const lfn = fileNames[f]!;
    const pSite = stores.siteNames[jobSite[p]!]!;
    const dSite = stores.siteNames[site]!;
    const pu = x.unitNode[p]!;
    const transfer: Transfer = {
      lfn,
      sources: [{ url: stores.storeGetUrls[pStore]! + lfn, site: pSite }],
      dest: { url: stores.storeUrls[store]! + lfn, site: dSite },
    };
    const size = g.fileSize[f]!;
    if (!Number.isNaN(size)) transfer.size = size;
    const job = helperJob(
      builder.uniqueId(`stage_inter_${dSite}_${++interCount}`),
      'inter_site',
      dSite,
      priority,
      x.defaultRetries,
    );
    job.transfers = [transfer];
    const node = builder.add(job);
    builder.addEdge(pu, node);
    at.set(f, node);
    files.addReader(files.find(f, pStore), node);
    files.add(f, store, REC_INTER_SITE, node);
    if (reasons.wants('stage')) {
      reasons.add(
        lfn,
        'stage',
        `produced on ${pSite} by job ${g.jobs[p]!.id} and read on ${dSite}: copied between the stores by ${job.id}`,
      );
    } else reasons.count('stage');
    return node;
  }

  function emitStageIns(): void {
    const groups = new Map<string, number[]>();
    for (let t = 0; t < pending.length; t++) {
      const s = pending[t]!;
      // A constrained store gets each file just before its first reader (one group per
      // first consumer); others get a level's files together.
      const key = stores.constrained[s.store]
        ? `${s.store}\u0000c${s.consumers[0]!}`
        : `${s.store}\u0000${s.level}`;
      const list = groups.get(key);
      if (list) list.push(t);
      else groups.set(key, [t]);
    }
    for (const list of groups.values()) {
      for (let at = 0, k = 0; at < list.length; at += STAGE_IN_FILES, k++) {
        const chunk = list.slice(at, at + STAGE_IN_FILES);
        const first = pending[chunk[0]!]!;
        const siteName = stores.siteNames[first.site]!;
        let priority = -Infinity;
        for (const t of chunk) priority = Math.max(priority, pending[t]!.priority);
        const tag = stores.constrained[first.store]
          ? builder.jobs[first.consumers[0]!]!.id
          : String(first.level);
        const job = helperJob(
          builder.uniqueId(`stage_in_${siteName}_${tag}_${k}`),
          'stage_in',
          siteName,
          priority,
          x.defaultRetries,
        );
        job.transfers = chunk.map((t) => {
          const s = pending[t]!;
          const lfn = fileNames[s.f]!;
          const tr: Transfer = {
            lfn,
            sources: s.sources.map((l) => ({ url: l.url, site: l.site })),
            dest: { url: stores.storeUrls[s.store]! + lfn, site: siteName },
          };
          const size = g.fileSize[s.f]!;
          if (!Number.isNaN(size)) tr.size = size;
          const sum = s.sources.find((l) => l.checksum)?.checksum;
          if (sum) tr.checksum = sum;
          return tr;
        });
        const node = builder.add(job);
        for (let i = 0; i < chunk.length; i++) {
          const s = pending[chunk[i]!]!;
          const r = files.add(s.f, s.store, REC_STAGED, node);
          files.entry[r] = s.entry;
          const consumers = s.consumers;
          for (let k = 0; k < consumers.length; k++) {
            builder.addEdge(node, consumers[k]!);
            files.addReader(r, consumers[k]!);
          }
          if (reasons.wants('stage')) {
            const src = s.sources[0]!;
            const more = s.sources.length - 1;
            reasons.add(
              fileNames[s.f]!,
              'stage',
              `staged into the ${siteName} store by ${job.id} from ${src.url} (site ${src.site})${more > 0 ? `; ${more} more source${more > 1 ? 's' : ''} to fail over to` : ''}`,
            );
          } else reasons.count('stage');
        }
      }
    }
  }

  function emitStageOuts(): void {
    for (let k = 0; k < x.units.length; k++) {
      const u = x.units[k]!;
      const unit = builder.jobs[u]!;
      const members = x.clusterMembers.size > 0 ? x.clusterMembers.get(u) : undefined;
      const count = members ? members.length : 1;
      // A unit runs where its jobs run (a cluster's members share one site).
      const store = stores.siteStore[jobSite[members ? members[0]! : x.unitJob[k]!]!]!;
      const base = stores.storeUrls[store]!;
      const getBase = stores.storeGetUrls[store]!;
      let transfers: Transfer[] | undefined;
      let registrations: Registration[] | undefined;
      let readRecords: number[] | undefined;
      for (let m = 0; m < count; m++) {
        const j = members ? members[m]! : x.unitJob[k]!;
        for (let i = outputs.start[j]!; i < outputs.start[j + 1]!; i++) {
          const flags = outputFlags[i]!;
          if (!(flags & OUT_STAGE)) continue;
          const f = outputs.items[i]!;
          const lfn = fileNames[f]!;
          const from = getBase + lfn;
          const to = stores.outputStore + lfn;
          const r = files.find(f, store);
          if (base === stores.outputStore) {
            files.keep.add(r);
            if (reasons.wants('stage')) {
              reasons.add(
                lfn,
                'stage',
                `written straight into the output store (${unit.site}'s store is the output store); no stage-out`,
              );
            } else reasons.count('stage');
          } else {
            const tr: Transfer = {
              lfn,
              sources: [{ url: from, site: unit.site }],
              dest: { url: to, site: stores.outputSite },
            };
            const size = g.fileSize[f]!;
            if (!Number.isNaN(size)) tr.size = size;
            (transfers ??= []).push(tr);
            (readRecords ??= []).push(r);
          }
          if (flags & OUT_REGISTER) {
            const pfn = stores.outputGetStore + lfn;
            (registrations ??= []).push({ lfn, pfn, site: stores.outputSite });
          }
        }
      }
      let last = u;
      if (transfers && readRecords) {
        const job = helperJob(
          builder.uniqueId(`stage_out_${unit.id}`),
          'stage_out',
          unit.site,
          unit.priority,
          x.defaultRetries,
        );
        job.transfers = transfers;
        last = builder.add(job);
        builder.addEdge(u, last);
        for (const r of readRecords) files.addReader(r, last);
      }
      if (registrations) {
        const job = helperJob(
          builder.uniqueId(`register_${unit.id}`),
          'register',
          REGISTER_SITE,
          unit.priority,
          x.defaultRetries,
        );
        job.registrations = registrations;
        const node = builder.add(job);
        builder.addEdge(last, node);
        if (reasons.wants('register')) {
          reasons.add(
            unit.id,
            'register',
            `${job.id} registers ${listSome(registrations.map((r) => r.lfn))} at ${stores.outputSite} (registerReplica) after they reach the output store`,
          );
        } else reasons.count('register');
      }
    }
  }
}
