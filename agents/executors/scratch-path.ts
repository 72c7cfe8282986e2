/**
 * Where a logical file name lives inside an attempt's scratch directory. Lfns may contain
 * subdirectories (`a/b.txt`) but must stay inside scratch: no absolute paths, no `.` or
 * `..` segments, no empty segments, no NUL (DESIGN §8: names that become paths are
 * validated).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AloftError } from '../../lib/errors/index.js';

export function checkLfn(lfn: string): void {
  const segments = lfn.split('/');
  const bad =
    lfn.length === 0 ||
    lfn.includes('\0') ||
    lfn.startsWith('/') ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) {
    throw AloftError.invalid({
      where: `file '${lfn}'`,
      message: 'is not a safe relative file name',
      hint: 'use a relative name without empty, "." or ".." segments',
    });
  }
}

/** The absolute path of `lfn` in `scratch` (validated). */
export function scratchPath(scratch: string, lfn: string): string {
  checkLfn(lfn);
  return path.join(scratch, ...lfn.split('/'));
}

/** A file:// URL for a local path (for transfer records of local copies). */
export function fileUrl(p: string): string {
  return pathToFileURL(p).href;
}
