/**
 * Putting a cache object into an attempt's scratch: a hard link when both are on one
 * filesystem (no bytes copied; the link shares the object's read-only 0444 mode, so a job
 * cannot write through it to the cached copy others use), else a copy (copy-on-write clone
 * where the filesystem offers it), which is the attempt's own file.
 */
import { constants } from 'node:fs';
import { copyFile, link, rm } from 'node:fs/promises';

/** errno codes of link(2) that mean "not possible here, copy instead". */
export const LINK_FALLBACK: ReadonlySet<string> = new Set([
  'EXDEV',
  'EPERM',
  'EMLINK',
  'EACCES',
  'ENOTSUP',
  'EOPNOTSUPP',
]);

export type Placement = 'link' | 'copy';

/** Link (or copy) `src` to `dest`, which must not exist. */
export async function placeFile(
  src: string,
  dest: string,
  signal?: AbortSignal,
): Promise<Placement> {
  signal?.throwIfAborted();
  try {
    await link(src, dest);
    return 'link';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!LINK_FALLBACK.has(code)) throw e;
  }
  try {
    await copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  } catch (e) {
    // A partial copy (ENOSPC) must not stay behind looking like the input.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') await rm(dest, { force: true });
    throw e;
  }
  return 'copy';
}
