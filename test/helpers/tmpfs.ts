/**
 * Small tmpfs mounts for tests that need a filesystem that really fills up (disk-full
 * handling, cache budgets). Mounting needs root in a namespace that allows it: tests ask
 * `mountPermitted()` first and skip otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Whether this process may mount a tmpfs (root in a namespace that allows it). */
export function mountPermitted(): boolean {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aloft-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmdirSync(dir);
  }
}

/** Create `dir` (its parent exists) and mount a tmpfs of `size` (bytes, or e.g. '8m') on it. */
export function mountTmpfs(dir: string, size: string | number): void {
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}

/** Unmount `dir`; lazily when something still holds it open. */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
}
