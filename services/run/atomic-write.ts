/**
 * Replace a small file atomically: write a temporary sibling, fsync it, rename it over the
 * target, fsync the directory. Readers see the old content or the new, never a mix, and a
 * crash leaves at worst a stray temporary file (named `.<name>.tmp-<pid>-<n>`).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { syncDir } from '../journal/index.js';

let counter = 0;

/** `content` may be chunks, so a plan larger than the biggest JS string can be written. */
export async function writeFileAtomic(
  file: string,
  content: string | Iterable<string>,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  options.signal?.throwIfAborted();
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${++counter}`);
  const fh = await fsp.open(tmp, 'wx', 0o644);
  try {
    if (typeof content === 'string') await fh.writeFile(content, 'utf8');
    else {
      for (const chunk of content) {
        options.signal?.throwIfAborted();
        await fh.write(chunk, null, 'utf8');
      }
    }
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    options.signal?.throwIfAborted();
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}
