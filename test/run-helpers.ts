/**
 * Helpers for the `aloft run` end-to-end tests: workflows written into tmp dirs, journal
 * queries, and a spawned `aloft` that a test can signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, REPO } from './helpers/cli.js';
import { readJournalSync, type JournalEvent } from '../services/journal/index.js';

export function tmpDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `aloft-${prefix}-`));
}

export function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Run directories under `${cwd}/runs`, oldest first. */
export function runDirs(cwd: string): string[] {
  try {
    return readdirSync(path.join(cwd, 'runs'))
      .sort()
      .map((d) => path.join(cwd, 'runs', d));
  } catch {
    return [];
  }
}

export function journal(runDir: string): JournalEvent[] {
  return readJournalSync(runDir);
}

export const ofType = <T extends JournalEvent['type']>(events: JournalEvent[], type: T) =>
  events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === type);

/** Plan job ids by kind, from the run's plan.json. */
export function planJobs(runDir: string): { id: string; kind: string; covers: string[] }[] {
  const plan = JSON.parse(readFileSync(path.join(runDir, 'plan.json'), 'utf8')) as {
    jobs: { id: string; kind: string; covers: string[] }[];
  };
  return plan.jobs;
}

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `aloft ARGS` without waiting for it (so a test can kill or interrupt it). */
export function spawnAloft(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: cwd ?? REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function waitFor(
  cond: () => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Live (non-zombie) processes whose command line contains `token`. */
export function processesWith(token: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (!cmdline.includes(token)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z') out.push({ pid: Number(d), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
