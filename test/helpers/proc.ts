/**
 * Looking at processes from tests through /proc: is a pid alive (a zombie is not), what
 * is its command line and parent, and polling until something holds.
 */
import { readFileSync } from 'node:fs';

/** Running and not a zombie (a reparented zombie may wait for a lazy init to reap it). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** argv of a process ([] when it is gone). */
export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The parent pid of a process (undefined when it is gone). */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** Poll `probe` every 20 ms until it is true; throws naming `what` after `timeoutMs`. */
export async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !probe();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Poll `probe` every 20 ms until it returns a value (not undefined) and resolve with it;
 * throws naming `what` after `timeoutMs`.
 */
export async function untilValue<T>(
  probe: () => T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  for (const end = Date.now() + timeoutMs; ;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
