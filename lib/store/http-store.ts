/**
 * The http(s):// store: read-only (DESIGN §3). `get` and `stat` use Node's fetch; writes,
 * deletes and listings are refused with FAILED_PRECONDITION. HTTP statuses map onto error
 * codes: 404/410 → NOT_FOUND, 408/429/5xx → UNAVAILABLE (retryable), other non-2xx →
 * FAILED_PRECONDITION. A body shorter than its Content-Length is UNAVAILABLE and never
 * becomes visible at the destination.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { AloftError } from '../errors/index.js';
import { writeFileAtomically } from './atomic-file.js';
import {
  redactUrl,
  storeError,
  type CopyResult,
  type GetOptions,
  type Store,
  type StoreEntry,
  type StoreOpOptions,
  type StoreStat,
} from './store.js';

export interface HttpStoreOptions {
  /** 'http' or 'https' (the scheme this instance is registered for). */
  scheme?: 'http' | 'https';
  /** fsync downloaded files before they become visible (default true). */
  fsync?: boolean;
}

function checkUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    u = new URL('invalid:');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw AloftError.invalid({
      where: `URL '${redactUrl(url)}'`,
      message: 'is not an http(s) URL',
      hint: 'use http://host/path or https://host/path',
    });
  }
  return u;
}

/**
 * fetch refuses URLs with user info; credentials in the URL become a Basic Authorization
 * header instead, and the request goes to the URL without them.
 */
function request(u: URL, method: string, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = {};
  if (u.username !== '' || u.password !== '') {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    u = new URL(u.href);
    u.username = '';
    u.password = '';
  }
  return fetch(u, { method, headers, redirect: 'follow', ...(signal ? { signal } : {}) });
}

function statusError(status: number, op: string, url: string): AloftError {
  const where = `${op} ${redactUrl(url)}: HTTP ${status}`;
  if (status === 404 || status === 410) {
    return new AloftError('NOT_FOUND', `${op} ${redactUrl(url)}: not found (HTTP ${status})`, {
      retryable: false,
    });
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new AloftError('UNAVAILABLE', where);
  }
  return new AloftError('FAILED_PRECONDITION', where, { retryable: false });
}

function readOnly(op: string, url: string): AloftError {
  return new AloftError(
    'FAILED_PRECONDITION',
    `${op} ${redactUrl(url)}: http stores are read-only`,
    { retryable: false },
  );
}

export function createHttpStore(options: HttpStoreOptions = {}): Store {
  const fsync = options.fsync ?? true;
  return {
    scheme: options.scheme ?? 'http',

    async get(url: string, destPath: string, o: GetOptions = {}): Promise<CopyResult> {
      try {
        const u = checkUrl(url);
        const res = await request(u, 'GET', o.signal);
        if (!res.ok || res.body === null) {
          await res.body?.cancel().catch(() => undefined);
          throw statusError(res.status, 'get', url);
        }
        const length = res.headers.get('content-length');
        const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
        const expected = length !== null && !encoded ? Number(length) : undefined;
        const body = Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>);
        return await writeFileAtomically(body, path.resolve(destPath), {
          source: redactUrl(url),
          fsync,
          ...(o.signal ? { signal: o.signal } : {}),
          ...(o.sha256 !== undefined ? { sha256: o.sha256 } : {}),
          ...(expected !== undefined && Number.isFinite(expected) ? { bytes: expected } : {}),
        });
      } catch (e) {
        throw storeError(e, 'get', url);
      }
    },

    async put(_srcPath: string, url: string): Promise<CopyResult> {
      throw readOnly('put', url);
    },

    /** size is -1 when the server sends no Content-Length; mtimeMs 0 without Last-Modified. */
    async stat(url: string, o: StoreOpOptions = {}): Promise<StoreStat | undefined> {
      try {
        const u = checkUrl(url);
        const res = await request(u, 'HEAD', o.signal);
        if (res.status === 404 || res.status === 410) return undefined;
        if (!res.ok) throw statusError(res.status, 'stat', url);
        const length = res.headers.get('content-length');
        const modified = res.headers.get('last-modified');
        const mtime = modified === null ? NaN : Date.parse(modified);
        return {
          size: length === null ? -1 : Number(length),
          mtimeMs: Number.isFinite(mtime) ? mtime : 0,
        };
      } catch (e) {
        throw storeError(e, 'stat', url);
      }
    },

    async delete(url: string): Promise<void> {
      throw readOnly('delete', url);
    },

    // eslint-disable-next-line require-yield
    async *list(prefixUrl: string): AsyncIterable<StoreEntry> {
      throw new AloftError(
        'FAILED_PRECONDITION',
        `list ${redactUrl(prefixUrl)}: http stores cannot list their objects`,
        { retryable: false },
      );
    },
  };
}
