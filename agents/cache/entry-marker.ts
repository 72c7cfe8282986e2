/**
 * The marker file of a cache entry: `<key>.json` beside the object `<key>`, saying what the
 * object must be (size, sha256, the object's mtime when it entered the cache) and which
 * URLs it was fetched under (credentials removed). An object is a valid entry only with a
 * marker that agrees with it; the marker's own mtime is the entry's last use (touched on
 * every hit), which is how the LRU order survives a restart.
 *
 * Written beside its final name and renamed into place, so a marker is whole or absent.
 * Not fsynced: a marker lost in a crash only drops its entry at the next start.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isCacheKey, sha256OfKey } from './cache-key.js';

export const MARKER_SUFFIX = '.json';
/** Temporary names in the entries dir (removed at start). */
export const MARKER_TEMP = '.marker-tmp-';

export interface EntryMarker {
  v: 1;
  key: string;
  size: number;
  /** Hex sha256 of the object's bytes (computed while it was fetched). */
  sha256: string;
  /** The object file's mtime right after it entered the cache (read-only since). */
  mtimeMs: number;
  /** URLs it was fetched under, newest first, credentials removed (at most MAX_URLS). */
  urls: string[];
}

/** URLs remembered per entry (the ad's locality summary lists them). */
export const MAX_URLS = 4;

export function markerPath(dir: string, key: string): string {
  return path.join(dir, key + MARKER_SUFFIX);
}

export async function writeMarker(dir: string, m: EntryMarker): Promise<void> {
  const final = markerPath(dir, m.key);
  const tmp = path.join(dir, `${MARKER_TEMP}${m.key}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(tmp, JSON.stringify(m), { mode: 0o644 });
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The marker at `file` when it is well-formed and names `key`; else undefined. */
export async function readMarker(file: string, key: string): Promise<EntryMarker | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const m = raw as Partial<EntryMarker> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    m.v !== 1 ||
    m.key !== key ||
    !isCacheKey(key) ||
    typeof m.size !== 'number' ||
    !Number.isSafeInteger(m.size) ||
    m.size < 0 ||
    typeof m.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(m.sha256) ||
    typeof m.mtimeMs !== 'number' ||
    !Array.isArray(m.urls) ||
    !m.urls.every((u) => typeof u === 'string')
  ) {
    return undefined;
  }
  // A content key must name the content it holds.
  const named = sha256OfKey(key);
  if (named !== undefined && named !== m.sha256) return undefined;
  return {
    v: 1,
    key,
    size: m.size,
    sha256: m.sha256,
    mtimeMs: m.mtimeMs,
    urls: m.urls.slice(0, MAX_URLS),
  };
}
