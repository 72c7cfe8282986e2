/**
 * Writing a file so that nobody ever sees it half-written: stream into a temporary name in
 * the destination's directory (same filesystem, so the rename is atomic), hash while
 * streaming, fsync, check what the caller expects (size, sha256), then rename into place.
 * On any failure the temporary file is removed and the destination is left untouched.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { AloftError } from '../errors/index.js';
import type { CopyResult } from './store.js';

/** Marker in temporary names; listings skip such files. */
export const TEMP_MARKER = '.aloft-tmp-';

export function tempNameFor(destPath: string): string {
  const rand = randomBytes(6).toString('hex');
  return path.join(path.dirname(destPath), `.${path.basename(destPath)}${TEMP_MARKER}${rand}`);
}

export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARKER);
}

export interface AtomicWriteOptions {
  signal?: AbortSignal;
  /** Expected sha256 (hex): mismatch → DATA_LOSS (retryable), nothing renamed into place. */
  sha256?: string;
  /** Expected byte count (e.g. Content-Length): short → UNAVAILABLE, nothing renamed. */
  bytes?: number;
  /** fsync the data before the rename (default true). */
  fsync?: boolean;
  /** Permission bits of the new file (default 0o644). */
  mode?: number;
  /** Names the source in error messages. */
  source: string;
}

/**
 * What arrived is what was expected: a short transfer is UNAVAILABLE (retry), another
 * checksum DATA_LOSS (retryable: the next replica or try may be good). Shared by every
 * writer that renames a temp file into place (this one and the S3 store's stream path).
 */
export function checkTransferred(
  o: Pick<AtomicWriteOptions, 'bytes' | 'sha256' | 'source'>,
  bytes: number,
  sha256: string,
): void {
  if (o.bytes !== undefined && o.bytes !== bytes) {
    throw new AloftError(
      'UNAVAILABLE',
      `${o.source}: transfer ended after ${bytes} of ${o.bytes} bytes`,
    );
  }
  if (o.sha256 !== undefined && o.sha256.toLowerCase() !== sha256) {
    throw new AloftError(
      'DATA_LOSS',
      `${o.source}: checksum mismatch (expected sha256 ${o.sha256}, got ${sha256})`,
      { retryable: true },
    );
  }
}

export async function writeFileAtomically(
  chunks: AsyncIterable<Uint8Array>,
  destPath: string,
  o: AtomicWriteOptions,
): Promise<CopyResult> {
  o.signal?.throwIfAborted();
  await mkdir(path.dirname(destPath), { recursive: true });
  const tmp = tempNameFor(destPath);
  const fh = await open(tmp, 'wx', o.mode ?? 0o644);
  let closed = false;
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of chunks) {
      o.signal?.throwIfAborted();
      hash.update(chunk);
      bytes += chunk.byteLength;
      // FileHandle.write may write less than asked; loop until the chunk is all out.
      let off = 0;
      while (off < chunk.byteLength) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
        off += bytesWritten;
      }
    }
    if (o.fsync ?? true) await fh.sync();
    closed = true;
    await fh.close();
    const sha256 = hash.digest('hex');
    checkTransferred(o, bytes, sha256);
    o.signal?.throwIfAborted();
    await rename(tmp, destPath);
    return { bytes, sha256 };
  } catch (e) {
    if (!closed) await fh.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}
