/**
 * Rebuilding the cache's index from disk at start (the cache survives agent restarts).
 * In `<cache>/incoming/` everything is a download that never finished: removed. In
 * `<cache>/entries/` an entry is the object `<key>` plus its marker `<key>.json`
 * (entry-marker.ts); it is kept only when the marker is well-formed and agrees with the
 * object: a regular file of the marker's size with the marker's mtime (objects are
 * read-only; a write through some link would change both), and for a content key the
 * marker's sha256 is the key's. Everything else there — a half of an entry, a marker
 * temp file, an inconsistent pair, a stray file — is removed. Contents are not re-hashed
 * here (reading a full cache at every start would be slow); hits check size and mtime, or
 * the full sha256 with `verifyHits: 'sha256'`.
 */
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isCacheKey } from './cache-key.js';
import { MARKER_SUFFIX, markerPath, readMarker, type EntryMarker } from './entry-marker.js';

export interface ScannedEntry {
  marker: EntryMarker;
  /** Epoch ms: the marker's mtime (touched on every hit). */
  lastUse: number;
}

export interface ScanReport {
  /** Valid entries, least recently used first. */
  entries: ScannedEntry[];
  /** Entries dropped as inconsistent (object or marker missing, sizes or mtimes differ). */
  dropped: number;
  /** Files removed that were no entry at all (unfinished downloads, temp files, strays). */
  removed: number;
}

export async function scanCache(
  entriesDir: string,
  incomingDir: string,
  signal?: AbortSignal,
): Promise<ScanReport> {
  await rm(incomingDir, { recursive: true, force: true });
  await mkdir(incomingDir, { recursive: true });
  await mkdir(entriesDir, { recursive: true });
  signal?.throwIfAborted();

  const objects = new Set<string>();
  const markers = new Set<string>();
  const strays: string[] = [];
  for (const d of await readdir(entriesDir, { withFileTypes: true })) {
    if (d.isDirectory()) {
      strays.push(d.name);
    } else if (isCacheKey(d.name) && d.isFile()) {
      objects.add(d.name);
    } else if (
      d.name.endsWith(MARKER_SUFFIX) &&
      isCacheKey(d.name.slice(0, -MARKER_SUFFIX.length))
    ) {
      markers.add(d.name.slice(0, -MARKER_SUFFIX.length));
    } else {
      strays.push(d.name);
    }
  }

  const entries: ScannedEntry[] = [];
  let dropped = 0;
  const drop = async (key: string): Promise<void> => {
    dropped++;
    await rm(path.join(entriesDir, key), { force: true });
    await rm(markerPath(entriesDir, key), { force: true });
  };
  for (const key of objects) {
    signal?.throwIfAborted();
    if (!markers.has(key)) {
      await drop(key);
      continue;
    }
    markers.delete(key);
    const m = await readMarker(markerPath(entriesDir, key), key);
    const [obj, mark] = await Promise.all([
      lstat(path.join(entriesDir, key)).catch(() => undefined),
      lstat(markerPath(entriesDir, key)).catch(() => undefined),
    ]);
    if (!m || !obj?.isFile() || !mark || obj.size !== m.size || obj.mtimeMs !== m.mtimeMs) {
      await drop(key);
      continue;
    }
    entries.push({ marker: m, lastUse: mark.mtimeMs });
  }
  for (const key of markers) await drop(key);
  for (const name of strays)
    await rm(path.join(entriesDir, name), { recursive: true, force: true });
  entries.sort((a, b) => a.lastUse - b.lastUse);
  return { entries, dropped, removed: strays.length };
}
