/**
 * Write a document as YAML, atomically: a temporary file beside the target, then a rename,
 * so a reader never sees half a workflow.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringifyYaml } from '../formats/index.js';

export function toYaml(doc: unknown): string {
  return stringifyYaml(doc);
}

export async function writeYamlDocument(
  file: string,
  doc: unknown,
  opts: { signal?: AbortSignal } = {},
): Promise<void> {
  opts.signal?.throwIfAborted();
  const text = toYaml(doc);
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`,
  );
  try {
    await writeFile(tmp, text, { signal: opts.signal });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
