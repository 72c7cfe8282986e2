/**
 * loadYamlFile: read a YAML/JSON file (gzip-compressed when its name ends in `.gz` or its
 * content starts with the gzip magic bytes) and parse it with parseYaml. The byte limit is
 * enforced before the file is read (from its size) and while it is decompressed (so a small
 * gzip bomb cannot inflate into memory).
 */
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { AloftError, toAloftError } from '../../../lib/errors/index.js';
import { resolveLimits, type YamlLimits } from './limits.js';
import { parseYaml, tooLarge, type YamlParseStats } from './parse-yaml.js';

export interface LoadYamlOptions {
  limits?: Partial<YamlLimits>;
  signal?: AbortSignal;
  /** Filled with the parse path taken (see parseYaml). */
  stats?: YamlParseStats;
}

export async function loadYamlFile(path: string, opts: LoadYamlOptions = {}): Promise<unknown> {
  const limits = resolveLimits(opts.limits);
  const text = await readText(path, limits.maxBytes, opts.signal);
  return parseYaml(text, path, limits, opts.stats);
}

/** The file's text (UTF-8), gunzipped when needed, never more than `maxBytes` of it. */
async function readText(path: string, maxBytes: number, signal?: AbortSignal): Promise<string> {
  try {
    signal?.throwIfAborted();
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const head = Buffer.alloc(2);
      const { bytesRead } = await handle.read(head, 0, 2, 0);
      const gzipped =
        path.endsWith('.gz') || (bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b);
      if (!gzipped) {
        if (size > maxBytes) throw tooLarge(path, maxBytes);
        const buf = await handle.readFile({ signal });
        if (buf.length > maxBytes) throw tooLarge(path, maxBytes); // grew while we read
        return decode(buf, path);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          total += chunk.length;
          if (total > maxBytes) done(tooLarge(path, maxBytes));
          else {
            chunks.push(chunk);
            done();
          }
        },
      });
      const stream = handle.createReadStream({ start: 0, autoClose: false });
      await pipeline(stream, createGunzip(), sink, signal ? { signal } : {}).catch((e: unknown) => {
        if (e instanceof AloftError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && code.startsWith('Z_')) {
          throw AloftError.invalid({
            where: path,
            message: `not a valid gzip file (${(e as Error).message})`,
            hint: 'decompress it to check it, or remove the .gz suffix if it is plain text',
          });
        }
        throw e;
      });
      return decode(Buffer.concat(chunks, total), path);
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw toAloftError(e);
  }
}

function decode(buf: Buffer, path: string): string {
  try {
    return buf.toString('utf8');
  } catch (e) {
    // Beyond the longest string V8 can hold (about 512 MiB).
    throw AloftError.invalid({
      where: path,
      message: `too large to hold as text (${buf.length} bytes): ${(e as Error).message}`,
      hint: 'split the workflow into sub-workflows',
    });
  }
}
