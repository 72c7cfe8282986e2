/**
 * The agent's content-addressed cache of input files (DESIGN §6 "Agents", issue 4 item 4).
 *
 * Layout: `<dir>/entries/<key>` is an object (mode 0444, read-only: attempts get hard links
 * to it and must not write their inputs), `<dir>/entries/<key>.json` its marker
 * (entry-marker.ts); `<dir>/incoming/` holds downloads in progress. Keys: cache-key.ts.
 *
 * Contracts:
 *  - A miss is fetched through the store's `get` (temp file + sha256 while streaming +
 *    rename), verified against the expected sha256 when the key is a content key, made
 *    read-only, and only then entered (marker first, then the object renamed into place).
 *  - Single-flight: concurrent requests for one key share one download; each requester
 *    gets its own pin.
 *  - `acquire` pins the entry until `release()`: a pinned entry is never evicted.
 *  - Budget (bytes; default 10% of the size of the filesystem holding `dir`): before a
 *    download, least-recently-used unpinned entries are evicted so that cached bytes plus
 *    downloads in flight stay within it. An input larger than the whole budget, one that
 *    cannot be keyed (no checksum, ETag, size or mtime), or one for which pinned entries
 *    leave no room, is not cached: `acquire` answers `bypass` with the reason and the
 *    caller fetches it straight into scratch (the invocation record says `bypass`).
 *  - A hit is checked before use: the object's size and mtime must match its marker
 *    (`verifyHits: 'stat'`, default: objects are read-only, so any write through a link
 *    changes the mtime) or its bytes must hash to the marker's sha256 (`'sha256'`). A
 *    corrupt entry is dropped and fetched again.
 *  - Restart: `start()` rebuilds the index from disk (scan.ts), last use = marker mtime.
 *  - Stats count per request: a hit is a request served without a download of its own
 *    (including requests that joined another's download), a miss a download made;
 *    bytesSaved = bytes of the hits.
 */
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, rename, rm, statfs, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AloftError } from '../../lib/errors/index.js';
import { silentLogger, type Logger } from '../../lib/logging/index.js';
import {
  redactUrl,
  storeFor as defaultStoreFor,
  type Store,
  type StoreStat,
} from '../../lib/store/index.js';
import type { CacheSummary } from '../../proto/index.js';
import { formatBytes, type SizeSpec } from './bytes.js';
import { keyOfStat, sha256Key, sha256OfKey } from './cache-key.js';
import { MAX_URLS, markerPath, writeMarker, type EntryMarker } from './entry-marker.js';
import { LruIndex, type LruEntry } from './lru-index.js';
import { placeFile, type Placement } from './place-file.js';
import { scanCache } from './scan.js';
import { SingleFlight } from './single-flight.js';

/** Default budget: this share of the size of the filesystem holding the cache dir. */
export const DEFAULT_CACHE_FRACTION = 0.1;
/** Entries listed in an ad's summary by default. */
export const DEFAULT_SUMMARY_ENTRIES = 128;

export interface InputCacheOptions {
  /** The cache directory (created): holds `entries/` and `incoming/`, nothing else is touched. */
  dir: string;
  /** Disk budget: bytes, or a share of the filesystem's size (default 10%). */
  size?: number | SizeSpec;
  /** How a hit is checked before use (default 'stat': size + mtime). */
  verifyHits?: 'stat' | 'sha256';
  /** Entries listed by `summary()` (default 128). */
  summaryEntries?: number;
  logger?: Logger;
  /** Which store serves a URL (default lib/store's registry). */
  storeFor?: (url: string) => Store;
}

/** An input to cache: where it is, and its sha256 when the plan knows it. */
export interface CacheSource {
  url: string;
  sha256?: string;
  /**
   * The store to fetch it through (default: the cache's `storeFor`): a job's own view of
   * the store (agents/stores, its StoreAccess). The entry's key does not depend on it.
   */
  store?: Store;
}

export interface CacheLease {
  readonly key: string;
  /** The cache object: read-only; link or copy it, never write it. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Served without a download of this request's own. */
  readonly hit: boolean;
  /** Unpin (idempotent). */
  release(): void;
}

export type Acquired = { kind: 'cached'; lease: CacheLease } | { kind: 'bypass'; reason: string };

/** How `fetchInto` got the file to its destination. */
export interface Fetched {
  use: 'hit' | 'miss' | 'bypass';
  bytes: number;
  sha256: string;
  /** How a cached object reached the destination (absent for bypass). */
  placement?: Placement;
  /** Why it was not cached (bypass only). */
  reason?: string;
  /** Unpin the entry (no-op when nothing stays pinned); call when the attempt is over. */
  release(): void;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  budgetBytes: number;
  /** Entries in use by attempts now. */
  pinned: number;
  /** Downloads in progress. */
  inFlight: number;
  hits: number;
  misses: number;
  evictions: number;
  /** Requests fetched around the cache (too large, unkeyable, no room). */
  bypasses: number;
  /** Entries found corrupt on use (dropped and fetched again). */
  corrupt: number;
  bytesSaved: number;
  bytesFetched: number;
}

export interface InputCache {
  readonly dir: string;
  /** The budget in bytes (known after start). */
  readonly budgetBytes: number;
  /** Rebuild the index from disk and settle the budget. */
  start(signal?: AbortSignal): Promise<void>;
  /** Abort downloads in flight; wait for background writes. */
  stop(): Promise<void>;
  acquire(file: CacheSource, signal?: AbortSignal): Promise<Acquired>;
  /** acquire + link/copy into `dest` (or, for a bypass, a direct verified download there). */
  fetchInto(file: CacheSource, dest: string, signal?: AbortSignal): Promise<Fetched>;
  /** Evict every entry not in use (disk full); what was freed. */
  evictUnpinned(): Promise<{ entries: number; bytes: number }>;
  stats(): CacheStats;
  /** Totals and the largest entries, for the agent's ad. */
  summary(limit?: number): CacheSummary;
}

interface Entry extends LruEntry {
  readonly sha256: string;
  readonly mtimeMs: number;
  urls: string[];
}

type FlightValue = { kind: 'entry'; entry: Entry } | { kind: 'bypass'; reason: string };

const noop = (): void => undefined;

async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, signal ? { signal } : {}), hash);
  return hash.digest('hex');
}

/**
 * What of a summary matters for locality (its largest entries and their URLs), as one text:
 * an agent re-advertises when this changes, not on every cache hit.
 */
export function summarySignature(s: CacheSummary): string {
  return s.largest.map((e) => `${e.sha256 ?? ''} ${e.bytes} ${e.urls.join(' ')}`).join('\n');
}

export function createInputCache(o: InputCacheOptions): InputCache {
  const dir = path.resolve(o.dir);
  const entriesDir = path.join(dir, 'entries');
  const incomingDir = path.join(dir, 'incoming');
  const logger = (o.logger ?? silentLogger).child({ component: 'cache' });
  const storeOf = o.storeFor ?? defaultStoreFor;
  const verify = o.verifyHits ?? 'stat';
  const summaryLimit = o.summaryEntries ?? DEFAULT_SUMMARY_ENTRIES;

  const index = new LruIndex<Entry>();
  const flights = new SingleFlight<FlightValue>();
  /** Unlinks in progress per key: a new object for the key waits for them. */
  const removals = new Map<string, Promise<void>>();
  const background = new Set<Promise<unknown>>();
  let budget = 0;
  let reserved = 0;
  let state: 'new' | 'running' | 'stopped' = 'new';
  const counts = {
    hits: 0,
    misses: 0,
    evictions: 0,
    bypasses: 0,
    corrupt: 0,
    bytesSaved: 0,
    bytesFetched: 0,
  };

  const objectPath = (key: string): string => path.join(entriesDir, key);

  function track(p: Promise<unknown>, what: string): void {
    const t = p.catch((e: unknown) => logger.warn({ err: e }, what));
    background.add(t);
    void t.finally(() => background.delete(t));
  }

  /** Unlink an entry's files (after it left the index). */
  function removeFiles(key: string): Promise<void> {
    const prev = removals.get(key) ?? Promise.resolve();
    const p = prev
      .then(async () => {
        await rm(objectPath(key), { force: true });
        await rm(markerPath(entriesDir, key), { force: true });
      })
      .finally(() => {
        if (removals.get(key) === p) removals.delete(key);
      });
    removals.set(key, p);
    return p;
  }

  function evict(e: Entry, why: string): Promise<void> | undefined {
    if (!index.delete(e)) return undefined;
    counts.evictions++;
    logger.debug({ key: e.key, bytes: e.size, why }, 'cache entry evicted');
    return removeFiles(e.key);
  }

  /** Reserve `need` bytes for a download, evicting LRU unpinned entries; false = no room. */
  async function reserve(need: number): Promise<boolean> {
    const victims = index.victims(need, budget, reserved);
    if (!victims) return false;
    reserved += need;
    await Promise.all(victims.map((v) => evict(v, 'budget')));
    return true;
  }

  /** Back within budget after an entry of unknown size came in or a pin ended. */
  function trim(): void {
    if (index.bytes + reserved <= budget) return;
    const victims = index.victims(0, budget, reserved);
    for (const v of victims ?? []) {
      const p = evict(v, 'budget');
      if (p) track(p, 'cache eviction failed');
    }
  }

  function release(e: Entry): void {
    e.pins = Math.max(0, e.pins - 1);
    if (e.pins === 0) trim();
  }

  function leaseOf(e: Entry, hit: boolean): CacheLease {
    let released = false;
    return {
      key: e.key,
      path: objectPath(e.key),
      bytes: e.size,
      sha256: e.sha256,
      hit,
      release() {
        if (released) return;
        released = true;
        release(e);
      },
    };
  }

  function rememberUrl(e: Entry, url: string): void {
    const shown = redactUrl(url);
    if (e.urls[0] === shown) return;
    e.urls = [shown, ...e.urls.filter((u) => u !== shown)].slice(0, MAX_URLS);
    const marker: EntryMarker = {
      v: 1,
      key: e.key,
      size: e.size,
      sha256: e.sha256,
      mtimeMs: e.mtimeMs,
      urls: e.urls,
    };
    track(writeMarker(entriesDir, marker), 'cache marker update failed');
  }

  /** Whether a hit's object is still what entered the cache. */
  async function intact(e: Entry, signal?: AbortSignal): Promise<boolean> {
    const s = await lstat(objectPath(e.key)).catch(() => undefined);
    if (!s?.isFile() || s.size !== e.size || s.mtimeMs !== e.mtimeMs) return false;
    if (verify === 'sha256') return (await sha256File(objectPath(e.key), signal)) === e.sha256;
    return true;
  }

  async function fetchEntry(
    key: string,
    url: string,
    store: Store,
    known: StoreStat | undefined,
    sha256: string | undefined,
    signal: AbortSignal,
  ): Promise<FlightValue> {
    let size = known?.size;
    if (size === undefined) {
      const st = await store.stat(url, { signal });
      if (!st) {
        throw new AloftError('NOT_FOUND', `get ${redactUrl(url)}: not found`, { retryable: false });
      }
      size = st.size;
    }
    if (size > budget) {
      return {
        kind: 'bypass',
        reason: `${formatBytes(size)} is larger than the cache budget of ${formatBytes(budget)}`,
      };
    }
    const need = Math.max(size, 0);
    if (!(await reserve(need))) {
      return {
        kind: 'bypass',
        reason: `entries in use and downloads in flight fill the cache budget of ${formatBytes(budget)}`,
      };
    }
    const tmp = path.join(incomingDir, `${key}-${randomBytes(6).toString('hex')}`);
    try {
      const r = await store.get(url, tmp, { signal, ...(sha256 !== undefined ? { sha256 } : {}) });
      if (size >= 0 && r.bytes !== size) {
        throw new AloftError(
          'UNAVAILABLE',
          `get ${redactUrl(url)}: the object changed while it was fetched (${r.bytes} bytes, ${size} expected)`,
        );
      }
      await chmod(tmp, 0o444);
      const st = await lstat(tmp);
      const marker: EntryMarker = {
        v: 1,
        key,
        size: r.bytes,
        sha256: r.sha256,
        mtimeMs: st.mtimeMs,
        urls: [redactUrl(url)],
      };
      await removals.get(key);
      signal.throwIfAborted();
      await writeMarker(entriesDir, marker);
      await rename(tmp, objectPath(key));
      const entry: Entry = {
        key,
        size: r.bytes,
        sha256: r.sha256,
        mtimeMs: st.mtimeMs,
        urls: marker.urls,
        // The flight's own pin until every requester has its own (SingleFlight.settled).
        pins: 1,
        lastUse: Date.now(),
      };
      const old = index.get(key);
      if (old) index.delete(old);
      index.add(entry);
      counts.misses++;
      counts.bytesFetched += r.bytes;
      logger.debug({ key, url: redactUrl(url), bytes: r.bytes }, 'cache entry added');
      return { kind: 'entry', entry };
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    } finally {
      reserved -= need;
      // An entry of unknown size may have taken the cache over budget.
      if (need === 0) trim();
    }
  }

  function ensureRunning(): void {
    if (state !== 'running') {
      throw new AloftError('FAILED_PRECONDITION', `input cache ${dir} is not started`, {
        retryable: false,
      });
    }
  }

  async function acquire(file: CacheSource, signal?: AbortSignal): Promise<Acquired> {
    ensureRunning();
    signal?.throwIfAborted();
    const url = file.url;
    const store = file.store ?? storeOf(url);
    let key: string | undefined;
    let stat: StoreStat | undefined;
    if (file.sha256 !== undefined) {
      key = sha256Key(file.sha256);
      if (key === undefined) {
        throw new AloftError(
          'INVALID_ARGUMENT',
          `${redactUrl(url)}: checksum '${file.sha256}' is not a sha256 (64 hex digits)`,
          { retryable: false },
        );
      }
    } else {
      stat = await store.stat(url, signal ? { signal } : {});
      if (!stat) {
        throw new AloftError('NOT_FOUND', `get ${redactUrl(url)}: not found`, { retryable: false });
      }
      key = keyOfStat(url, stat);
      if (key === undefined) {
        counts.bypasses++;
        return {
          kind: 'bypass',
          reason: 'the store reports no checksum, ETag, size or modification time to key it by',
        };
      }
    }
    const expected = sha256OfKey(key);
    for (;;) {
      const e = index.get(key);
      if (e) {
        e.pins++;
        let ok: boolean;
        try {
          ok = await intact(e, signal);
        } catch (err) {
          release(e);
          throw err;
        }
        if (ok) {
          index.touch(e);
          counts.hits++;
          counts.bytesSaved += e.size;
          rememberUrl(e, url);
          const now = new Date();
          track(utimes(markerPath(entriesDir, e.key), now, now), 'cache marker touch failed');
          return { kind: 'cached', lease: leaseOf(e, true) };
        }
        e.pins--;
        counts.corrupt++;
        logger.warn({ key, url: redactUrl(url) }, 'cache entry corrupt; fetching it again');
        if (index.delete(e)) await removeFiles(e.key);
        continue;
      }
      const k = key;
      const { value, shared } = await flights.do(
        k,
        signal,
        (s) => fetchEntry(k, url, store, stat, expected, s),
        {
          claim: (v) => {
            if (v.kind === 'entry') v.entry.pins++;
          },
          settled: (v) => {
            if (v.kind === 'entry') release(v.entry);
          },
        },
      );
      if (value.kind === 'bypass') {
        counts.bypasses++;
        return value;
      }
      const entry = value.entry;
      if (shared) {
        counts.hits++;
        counts.bytesSaved += entry.size;
        rememberUrl(entry, url);
      }
      return { kind: 'cached', lease: leaseOf(entry, shared) };
    }
  }

  return {
    dir,

    get budgetBytes() {
      return budget;
    },

    async start(signal) {
      if (state !== 'new') {
        throw new AloftError('FAILED_PRECONDITION', `input cache ${dir} was already started`);
      }
      await mkdir(dir, { recursive: true });
      const size = o.size ?? { fraction: DEFAULT_CACHE_FRACTION };
      if (typeof size === 'number') {
        budget = size;
      } else if ('bytes' in size) {
        budget = size.bytes;
      } else {
        const s = await statfs(dir);
        budget = Math.floor(s.blocks * s.bsize * size.fraction);
      }
      if (!Number.isSafeInteger(budget) || budget < 0) {
        throw AloftError.invalid({
          where: `cache ${dir}`,
          message: `size must be a whole number of bytes >= 0, got ${budget}`,
        });
      }
      const scan = await scanCache(entriesDir, incomingDir, signal);
      for (const s of scan.entries) {
        index.add({
          key: s.marker.key,
          size: s.marker.size,
          sha256: s.marker.sha256,
          mtimeMs: s.marker.mtimeMs,
          urls: s.marker.urls,
          pins: 0,
          lastUse: s.lastUse,
        });
      }
      state = 'running';
      // The budget may have shrunk since the entries were cached.
      const victims = index.victims(0, budget) ?? [...index.values()];
      await Promise.all(victims.map((v) => evict(v, 'budget')));
      logger.info(
        {
          dir,
          budgetBytes: budget,
          entries: index.size,
          bytes: index.bytes,
          dropped: scan.dropped,
          removed: scan.removed,
          evicted: victims.length,
        },
        'input cache ready',
      );
    },

    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      flights.abortAll(new AloftError('CANCELLED', `input cache ${dir} stopped`));
      while (background.size > 0) await Promise.all([...background]);
      await Promise.all([...removals.values()].map((p) => p.catch(() => undefined)));
    },

    acquire,

    async fetchInto(file, dest, signal) {
      const a = await acquire(file, signal);
      if (a.kind === 'bypass') {
        const r = await (file.store ?? storeOf(file.url)).get(file.url, dest, {
          ...(signal ? { signal } : {}),
          ...(file.sha256 !== undefined ? { sha256: file.sha256 } : {}),
        });
        return { use: 'bypass', reason: a.reason, bytes: r.bytes, sha256: r.sha256, release: noop };
      }
      const { lease } = a;
      let placement: Placement;
      try {
        placement = await placeFile(lease.path, dest, signal);
      } catch (e) {
        lease.release();
        throw e;
      }
      // A copy is the attempt's own: the entry need not stay pinned for it.
      if (placement === 'copy') lease.release();
      return {
        use: lease.hit ? 'hit' : 'miss',
        bytes: lease.bytes,
        sha256: lease.sha256,
        placement,
        release: placement === 'copy' ? noop : () => lease.release(),
      };
    },

    async evictUnpinned() {
      let entries = 0;
      let bytes = 0;
      const done: Promise<void>[] = [];
      for (const e of [...index.values()]) {
        if (e.pins > 0) continue;
        const p = evict(e, 'disk full');
        if (!p) continue;
        entries++;
        bytes += e.size;
        done.push(p);
      }
      await Promise.all(done);
      if (entries > 0) logger.info({ entries, bytes }, 'cache entries evicted to free disk');
      return { entries, bytes };
    },

    stats() {
      return {
        entries: index.size,
        bytes: index.bytes,
        budgetBytes: budget,
        pinned: index.pinned(),
        inFlight: flights.size,
        ...counts,
      };
    },

    summary(limit = summaryLimit) {
      const largest = [...index.values()]
        .sort((a, b) => b.size - a.size || (a.key < b.key ? -1 : 1))
        .slice(0, Math.max(0, limit))
        .map((e) => ({ urls: [...e.urls], bytes: e.size, sha256: e.sha256 }));
      return { entries: index.size, bytes: index.bytes, budgetBytes: budget, largest };
    },
  };
}
