/**
 * The cache key of an input: the name its object has in the cache. Exactly:
 *
 *  1. The content's sha256, when known — from the plan (the file's declared checksum) or
 *     else from the store (`stat().sha256`, e.g. s3's x-amz-meta-sha256): key
 *     `sha256-<64 lower-case hex>`. Content-addressed: two URLs with the same sha256 share
 *     one entry, and a download is verified against that sha256 before it enters the cache.
 *  2. Otherwise a digest of where the file is and which version of it the store reports:
 *     key `url-<hex sha256 of D>` where D is the UTF-8 text
 *       `aloft-cache-v1\nurl\n<url>\netag\n<etag>`                      when the store
 *     gives an ETag, else
 *       `aloft-cache-v1\nurl\n<url>\nsize\n<size>\nmtime\n<mtimeMs>`   (numbers as
 *     JavaScript prints them, e.g. `1712345678901.25`), when it gives both a size (>= 0)
 *     and a modification time (> 0). `<url>` is the URL exactly as the plan gives it. A
 *     changed object (new ETag, size or mtime) gets a new key, so a stale copy is never
 *     served; the old entry ages out by LRU.
 *  3. Neither: the input cannot be keyed safely (e.g. an http server sending neither
 *     Last-Modified nor a length) and is not cached.
 */
import { createHash } from 'node:crypto';
import type { StoreStat } from '../../lib/store/index.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const KEY = /^(sha256|url)-[0-9a-f]{64}$/;

/** True for a name that is a cache key (names on disk are checked with it before use). */
export function isCacheKey(name: string): boolean {
  return KEY.test(name);
}

/** The key of content with this sha256 (hex, any case); undefined when it is not a sha256. */
export function sha256Key(sha256: string): string | undefined {
  const hex = sha256.toLowerCase();
  return SHA256_HEX.test(hex) ? `sha256-${hex}` : undefined;
}

/** The sha256 a content key names, or undefined for a url- key. */
export function sha256OfKey(key: string): string | undefined {
  return key.startsWith('sha256-') ? key.slice('sha256-'.length) : undefined;
}

/** The key of `url` as the store describes it (rules 1-3 above; undefined = rule 3). */
export function keyOfStat(url: string, stat: StoreStat): string | undefined {
  if (stat.sha256 !== undefined) {
    const k = sha256Key(stat.sha256);
    if (k !== undefined) return k;
  }
  let d: string;
  if (stat.etag !== undefined && stat.etag !== '') {
    d = `aloft-cache-v1\nurl\n${url}\netag\n${stat.etag}`;
  } else if (stat.size >= 0 && stat.mtimeMs > 0) {
    d = `aloft-cache-v1\nurl\n${url}\nsize\n${stat.size}\nmtime\n${stat.mtimeMs}`;
  } else {
    return undefined;
  }
  return `url-${createHash('sha256').update(d, 'utf8').digest('hex')}`;
}
