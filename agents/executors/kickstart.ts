/**
 * Finding and reading aloft-kickstart (agents/kickstart/kickstart.c, built into
 * dist/bin/ by scripts/build-native.sh). The result file format is the one line of JSON
 * the C program writes; see its header for the contract.
 */
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Where kickstart is: next to the compiled module (dist/agents/executors → dist/bin), or,
 * when this module runs from source (tests), in the repository's dist/bin. undefined when
 * neither exists (no C compiler at build time).
 */
export function locateKickstart(): string | undefined {
  const candidates = [
    new URL('../../bin/aloft-kickstart', import.meta.url),
    new URL('../../dist/bin/aloft-kickstart', import.meta.url),
  ];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export interface KickstartResult {
  exit: number | null;
  signal: string | null;
  utimeUs: number;
  stimeUs: number;
  maxRssKb: number;
  execError: string | null;
  execErrno: number | null;
  pid: number | null;
}

/** The result file, or undefined when kickstart did not write one (it died or failed). */
export async function readKickstartResult(file: string): Promise<KickstartResult | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const r = JSON.parse(text) as Record<string, unknown>;
    const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    return {
      exit: num(r['exit']),
      signal: str(r['signal']),
      utimeUs: num(r['utime_us']) ?? 0,
      stimeUs: num(r['stime_us']) ?? 0,
      maxRssKb: num(r['maxrss_kb']) ?? 0,
      execError: str(r['exec_error']),
      execErrno: num(r['exec_errno']),
      pid: num(r['pid']),
    };
  } catch {
    return undefined;
  }
}
