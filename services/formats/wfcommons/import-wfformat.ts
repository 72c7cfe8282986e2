/**
 * Import a WfCommons WfFormat trace file (plain JSON or gzip, detected by its magic bytes)
 * as a LoadedWorkflow with empty catalogs: whoever runs a trace (`aloft replay`) builds
 * catalogs that fit it.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { AloftError } from '../../../lib/errors/index.js';
import type { LoadedWorkflow } from '../../model/types.js';
import { workflowFromWfFormat } from './wfformat.js';

const gunzipAsync = promisify(gunzip);

export interface ImportWfFormatOptions {
  signal?: AbortSignal;
}

export async function importWfFormat(
  file: string,
  opts: ImportWfFormatOptions = {},
): Promise<LoadedWorkflow> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file, { signal: opts.signal });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR')
      throw AloftError.invalid({
        where: file,
        message: code === 'EISDIR' ? 'is a directory, not a trace file' : 'trace file not found',
        hint: 'give the path of a WfFormat JSON trace (.json or .json.gz)',
      });
    throw e;
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (e) {
      throw AloftError.invalid({
        where: file,
        message: `gzip data is corrupt: ${(e as Error).message}`,
      });
    }
  }
  opts.signal?.throwIfAborted();
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw AloftError.invalid({
      where: file,
      message: `not valid JSON: ${(e as Error).message}`,
      hint: 'WfFormat traces are JSON documents (optionally gzipped)',
    });
  }
  return {
    workflow: workflowFromWfFormat(doc, file),
    replicas: { replicas: [] },
    transformations: { transformations: [], containers: [] },
    sites: { sites: [] },
    warnings: [],
    sources: { workflow: file },
  };
}
