/**
 * The file:// store: a directory tree on a local (or mounted) filesystem. URLs must be
 * absolute file URLs (`file:///abs/path`, host empty or `localhost`, no query or fragment).
 * With a `base`, every URL must resolve inside it — lexically and after resolving symlinks
 * of the parts that exist — so a crafted lfn like `../../etc/passwd` cannot escape.
 */
import { realpathSync } from 'node:fs';
import { open, opendir, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AloftError } from '../errors/index.js';
import { isTempName, writeFileAtomically } from './atomic-file.js';
import {
  redactUrl,
  storeError,
  toUrl,
  type CopyResult,
  type GetOptions,
  type Store,
  type StoreEntry,
  type StoreOpOptions,
  type StoreStat,
} from './store.js';

export interface FileStoreOptions {
  /** Directory (path or file:// URL) every URL must stay inside; none = whole filesystem. */
  base?: string;
  /** fsync written files before they become visible (default true). */
  fsync?: boolean;
}

const READ_CHUNK = 256 * 1024;

/**
 * The chunks of an already opened file (opening first means a missing source fails before
 * anything is created at the destination). Does not close it: see copyFrom.
 */
async function* chunksOf(fh: FileHandle, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for (;;) {
    signal?.throwIfAborted();
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
  }
}

/**
 * Copy an opened source into `dest` atomically, closing the source whatever happens. The
 * caller owns the handle rather than the generator: a generator's `finally` never runs
 * when the consumer fails before its first read (e.g. the destination directory cannot be
 * created), which would leak the descriptor.
 */
async function copyFrom(
  src: FileHandle,
  dest: string,
  o: Parameters<typeof writeFileAtomically>[2],
): Promise<CopyResult> {
  try {
    return await writeFileAtomically(chunksOf(src, o.signal), dest, o);
  } finally {
    await src.close();
  }
}

function invalid(url: string, message: string): AloftError {
  return AloftError.invalid({
    where: `file URL '${redactUrl(url)}'`,
    message,
    hint: 'use an absolute file URL such as file:///data/store/x.dat',
  });
}

/** The absolute path of a file URL, validated. */
export function filePathOf(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(url, 'is not a URL');
  }
  if (u.protocol !== 'file:') throw invalid(url, `has scheme '${u.protocol}', expected 'file:'`);
  if (u.host !== '' && u.host !== 'localhost') throw invalid(url, 'names a remote host');
  if (u.search !== '' || u.hash !== '') throw invalid(url, 'has a query or fragment');
  let p: string;
  try {
    p = fileURLToPath(u);
  } catch (e) {
    throw invalid(url, (e as Error).message);
  }
  return path.resolve(p);
}

/** realpath of the deepest existing ancestor of p, with the missing rest appended. */
function realpathOfExisting(p: string): string {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return path.join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return p;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

function inside(base: string, p: string): boolean {
  return p === base || p.startsWith(base.endsWith(path.sep) ? base : base + path.sep);
}

export function createFileStore(options: FileStoreOptions = {}): Store {
  const base = options.base === undefined ? undefined : filePathOf(toUrl(options.base));
  const fsync = options.fsync ?? true;

  function resolve(url: string): string {
    const p = filePathOf(url);
    if (base !== undefined) {
      const realBase = realpathOfExisting(base);
      if (!inside(base, p) || !inside(realBase, realpathOfExisting(p))) {
        throw invalid(url, `resolves outside the store base ${base}`);
      }
    }
    return p;
  }

  async function* walk(dir: string): AsyncGenerator<string> {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw e;
    }
    const names: { name: string; dir: boolean; file: boolean }[] = [];
    for await (const d of handle) {
      names.push({ name: d.name, dir: d.isDirectory(), file: d.isFile() });
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const n of names) {
      const full = path.join(dir, n.name);
      if (n.dir) yield* walk(full);
      else if (n.file && !isTempName(n.name)) yield full;
    }
  }

  return {
    scheme: 'file',

    async get(url: string, destPath: string, o: GetOptions = {}): Promise<CopyResult> {
      try {
        const src = await open(resolve(url), 'r');
        return await copyFrom(src, path.resolve(destPath), {
          source: redactUrl(url),
          fsync,
          ...(o.signal ? { signal: o.signal } : {}),
          ...(o.sha256 !== undefined ? { sha256: o.sha256 } : {}),
        });
      } catch (e) {
        throw storeError(e, 'get', url);
      }
    },

    async put(srcPath: string, url: string, o: StoreOpOptions = {}): Promise<CopyResult> {
      try {
        const dest = resolve(url);
        const src = await open(srcPath, 'r');
        return await copyFrom(src, dest, {
          source: srcPath,
          fsync,
          ...(o.signal ? { signal: o.signal } : {}),
        });
      } catch (e) {
        throw storeError(e, `put ${srcPath} to`, url);
      }
    },

    async stat(url: string): Promise<StoreStat | undefined> {
      try {
        const s = await stat(resolve(url));
        return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : undefined;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw storeError(e, 'stat', url);
      }
    },

    async delete(url: string): Promise<void> {
      try {
        const p = resolve(url);
        const s = await stat(p).catch(() => undefined);
        if (s?.isDirectory()) throw invalid(url, 'is a directory, not an object');
        await rm(p, { force: true });
      } catch (e) {
        throw storeError(e, 'delete', url);
      }
    },

    async *list(prefixUrl: string): AsyncIterable<StoreEntry> {
      let prefix: string;
      try {
        prefix = resolve(prefixUrl);
      } catch (e) {
        throw storeError(e, 'list', prefixUrl);
      }
      // A prefix ending in '/' is a directory; otherwise list its parent and filter.
      const isDir = new URL(prefixUrl).pathname.endsWith('/');
      const dir = isDir ? prefix : path.dirname(prefix);
      try {
        for await (const file of walk(dir)) {
          if (!isDir && !file.startsWith(prefix)) continue;
          const s = await stat(file).catch(() => undefined);
          if (s?.isFile()) yield { url: pathToFileURL(file).href, size: s.size };
        }
      } catch (e) {
        throw storeError(e, 'list', prefixUrl);
      }
    },

    localPath(url: string): string | undefined {
      return resolve(url);
    },
  };
}
