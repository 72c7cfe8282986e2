/**
 * Where an example's files live in the source tree, whether the generator runs from
 * examples/ (via tsx/vitest) or from dist/examples/ (compiled).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function exampleDir(moduleUrl: string, name: string): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const parts = here.split(path.sep);
  const dist = parts.lastIndexOf('dist');
  const repo = dist >= 0 ? parts.slice(0, dist).join(path.sep) : path.resolve(here, '..', '..');
  return path.join(repo, 'examples', name);
}

export function isMain(moduleUrl: string): boolean {
  return !!process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}
