/**
 * Create a trace's root input files at their recorded sizes times the size scale, with
 * deterministic content (a PRNG seeded by the lfn), so repeated replays move the same
 * bytes and checksums mean something. Existing files of the right size are kept, which
 * makes a resumed replay cheap.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat, rename } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { validateLfn } from '../model/index.js';
import { AloftError } from '../../lib/errors/index.js';

const CHUNK = 64 * 1024;

/** xorshift32 seeded from an FNV-1a hash of the name. */
function prng(seedText: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seedText.length; i++) {
    h ^= seedText.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let x = h >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export async function writeSyntheticFile(
  file: string,
  bytes: number,
  seed: string,
  signal?: AbortSignal,
): Promise<void> {
  const tmp = `${file}.part-${process.pid}`;
  const out = createWriteStream(tmp);
  const next = prng(seed);
  const chunk = Buffer.allocUnsafe(CHUNK);
  for (let i = 0; i < CHUNK; i += 4) chunk.writeUInt32LE(next(), i);
  let left = bytes;
  try {
    while (left > 0) {
      signal?.throwIfAborted();
      const n = Math.min(left, CHUNK);
      // Rotate the pattern per chunk so large files are not one repeated block.
      chunk.writeUInt32LE(next(), 0);
      if (!out.write(n === CHUNK ? Buffer.from(chunk) : chunk.subarray(0, n))) {
        await once(out, 'drain');
      }
      left -= n;
    }
    out.end();
    await once(out, 'finish');
  } catch (e) {
    out.destroy();
    throw e;
  }
  await rename(tmp, file);
}

export async function generateInputs(
  inputs: Map<string, number>,
  dir: string,
  sizeScale: number,
  signal?: AbortSignal,
): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  for (const [lfn, size] of inputs) {
    const bad = validateLfn(lfn);
    if (bad) throw AloftError.invalid({ where: `trace input '${lfn}'`, message: bad });
    const target = path.join(dir, lfn);
    const want = Math.round(size * sizeScale);
    bytes += want;
    const have = await stat(target).catch(() => undefined);
    if (have?.isFile() && have.size === want) continue;
    await mkdir(path.dirname(target), { recursive: true });
    await writeSyntheticFile(target, want, lfn, signal);
  }
  return { files: inputs.size, bytes };
}
