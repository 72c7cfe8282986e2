/**
 * The store seam (DESIGN §3 "store"): object storage a site exposes, addressed by URL.
 * `file://` and `http(s)://` (read-only) live here; issue 4 adds `s3://` behind the same
 * interface. Contracts every implementation keeps:
 *  - `get` streams into a temporary file beside the destination, hashing while it streams,
 *    and renames it into place only when complete (and, when asked, verified): a partial or
 *    corrupt download is never visible under the destination name.
 *  - `put` never makes a partial upload visible as complete.
 *  - `stat` of a missing object is `undefined`; `delete` of a missing object succeeds.
 *  - Errors are AloftErrors: missing → NOT_FOUND (not retryable), disk full →
 *    RESOURCE_EXHAUSTED, network or server trouble → UNAVAILABLE (retryable), checksum
 *    mismatch → DATA_LOSS (retryable: another download may be fine), bad URL →
 *    INVALID_ARGUMENT, access refused by the store → PERMISSION_DENIED (not retryable).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AloftError, toAloftError } from '../errors/index.js';

export interface StoreOpOptions {
  signal?: AbortSignal;
}

export interface GetOptions extends StoreOpOptions {
  /** Expected sha256 (hex); on mismatch the download is discarded and DATA_LOSS thrown. */
  sha256?: string;
}

export interface PutOptions extends StoreOpOptions {
  /**
   * The source's sha256 (hex) when the caller already knows it (e.g. from the invocation
   * record). A hint: a store that needs the checksum before sending (s3 multipart writes it
   * as object metadata at creation) skips its own hashing pass, and still verifies the bytes
   * it sent against it (mismatch → DATA_LOSS, nothing made visible). Stores may ignore it.
   */
  sha256?: string;
}

export interface CopyResult {
  bytes: number;
  /** Hex sha256 of the bytes written. */
  sha256: string;
}

export interface StoreStat {
  size: number;
  mtimeMs: number;
  /** The store's entity tag (s3: ETag, quotes removed), when it has one. */
  etag?: string;
  /** The object's sha256 (hex) as recorded by the store (s3: x-amz-meta-sha256), if any. */
  sha256?: string;
}

export interface StoreEntry {
  url: string;
  size: number;
}

export interface Store {
  /** The URL scheme this store serves, without ':' ('file', 'http', 'https', 's3'). */
  readonly scheme: string;
  get(url: string, destPath: string, options?: GetOptions): Promise<CopyResult>;
  put(srcPath: string, url: string, options?: PutOptions): Promise<CopyResult>;
  stat(url: string, options?: StoreOpOptions): Promise<StoreStat | undefined>;
  delete(url: string, options?: StoreOpOptions): Promise<void>;
  /** Every object whose URL starts with `prefixUrl`. */
  list(prefixUrl: string, options?: StoreOpOptions): AsyncIterable<StoreEntry>;
  /** The local file behind a URL, when there is one (file://): lets callers hard-link. */
  localPath?(url: string): string | undefined;
}

/**
 * Accept a URL or a plain absolute path (turned into a file:// URL). Relative paths are
 * rejected: what they mean depends on the cwd of whoever reads the URL later.
 */
export function toUrl(pathOrUrl: string): string {
  if (pathOrUrl.startsWith('/')) return pathToFileURL(path.normalize(pathOrUrl)).href;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(pathOrUrl)) {
    try {
      return new URL(pathOrUrl).href;
    } catch {
      // fall through to the problem below
    }
  }
  throw AloftError.invalid({
    where: `location '${pathOrUrl}'`,
    message: 'not a URL or an absolute path',
    hint: 'use file:///abs/path, /abs/path, http(s)://host/path or s3://bucket/key',
  });
}

/** The scheme of a URL, lower-case, without ':'. */
export function schemeOf(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  if (!m?.[1]) {
    throw AloftError.invalid({
      where: `location '${url}'`,
      message: 'has no URL scheme',
      hint: 'use file:///abs/path, http(s)://host/path or s3://bucket/key',
    });
  }
  return m[1].toLowerCase();
}

/**
 * Normalise an error from a store operation into an AloftError whose message names the
 * operation and the URL. Network-level failures (fetch TypeError, ECONNREFUSED, ...) become
 * UNAVAILABLE.
 */
export function storeError(e: unknown, op: string, rawUrl: string): AloftError {
  if (e instanceof AloftError) return e;
  const url = redactUrl(rawUrl);
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  const detail = redactUrl(e instanceof Error ? e.message : String(e));
  const cause = { cause: e };
  if (e instanceof Error && e.name === 'AbortError') {
    return new AloftError('CANCELLED', `${op} ${url} cancelled`, cause);
  }
  switch (errno) {
    case 'ENOENT':
      return new AloftError('NOT_FOUND', `${op} ${url}: not found`, { ...cause, retryable: false });
    case 'ENOSPC':
    case 'EDQUOT':
      return new AloftError('RESOURCE_EXHAUSTED', `${op} ${url}: no space left (${errno})`, cause);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'EISDIR':
    case 'ENOTDIR':
      return new AloftError('FAILED_PRECONDITION', `${op} ${url}: ${detail}`, {
        ...cause,
        retryable: false,
      });
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
    case 'EPIPE':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
    case 'ENOTFOUND':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new AloftError('UNAVAILABLE', `${op} ${url}: ${detail}`, cause);
  }
  // Node's fetch reports network failures as TypeError('fetch failed') with the errno below.
  if (e instanceof TypeError && e.cause !== undefined) {
    const inner = storeError(e.cause, op, url);
    return inner.code === 'INTERNAL'
      ? new AloftError('UNAVAILABLE', `${op} ${url}: ${detail}`, cause)
      : inner;
  }
  const base = toAloftError(e);
  return new AloftError(base.code, `${op} ${url}: ${detail}`, {
    ...cause,
    retryable: base.retryable,
  });
}

/** A URL (or a text with URLs) fit for messages and logs: user info (credentials) replaced. */
export function redactUrl(url: string): string {
  return url.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s]*@/g, '$1[redacted]@');
}

/** The errno-like code to report for a store error (Failure.code). */
export function errorCode(e: AloftError): string {
  const errno = (e.cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof errno === 'string' ? errno : e.code;
}
