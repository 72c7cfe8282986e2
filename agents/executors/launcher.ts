/**
 * The agent's side of aloft-launcher (agents/kickstart/launcher.c): one long-lived native
 * process that starts every job of this executor, so an attempt costs a pipe write and a
 * clone+exec instead of a Node spawn plus a kickstart exec. The wire format (length-
 * prefixed frames of NUL-terminated fields in; one JSON line per job out) and the
 * guarantees per job (own process group, no shell, PDEATHSIG, leftovers killed, rusage)
 * are stated in launcher.c's header.
 *
 * Lifecycle: the launcher starts on the first `run` and is restarted by the next `run`
 * after it died; a death fails every job in flight with UNAVAILABLE (their processes were
 * killed with it). It is referenced (keeps Node's event loop alive) only while jobs are in
 * flight, so an idle agent can exit without closing it; `close()` ends it and its jobs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AloftError } from '../../lib/errors/index.js';
import type { Logger } from '../../lib/logging/index.js';

/** Where aloft-launcher is (dist/bin beside the compiled module, or the repo's dist/bin). */
export function locateLauncher(): string | undefined {
  for (const c of [
    new URL('../../bin/aloft-launcher', import.meta.url),
    new URL('../../dist/bin/aloft-launcher', import.meta.url),
  ]) {
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

export interface LaunchRequest {
  argv: string[];
  /** The job's whole environment. */
  env: Record<string, string>;
  cwd: string;
  /** File for stdin; undefined = /dev/null. */
  stdin?: string;
  /** Created or truncated. */
  stdout: string;
  /** Created or truncated; equal to `stdout` (or undefined) = the same file. */
  stderr?: string;
  /** Remove the stdout / stderr file after the job when it is empty (the agent's own logs). */
  dropEmpty?: { stdout?: boolean; stderr?: boolean };
}

export interface LaunchResult {
  exit: number | null;
  signal: string | null;
  utimeUs: number;
  stimeUs: number;
  maxRssKb: number;
  /** exec failed (strerror text) with its errno; exit is then 127 or 126. */
  execError: string | null;
  execErrno: number | null;
  /** Something before exec failed: which step, with strerror text and errno. */
  setupError: string | null;
  setupErrno: number | null;
  setupWhat: 'cwd' | 'stdin' | 'stdout' | 'stderr' | 'spawn' | null;
  pid: number | null;
  stdoutBytes: number;
  stderrBytes: number;
}

export type LaunchSignal = 'TERM' | 'INT' | 'HUP' | 'KILL';

export interface Launch {
  readonly done: Promise<LaunchResult>;
  /** Signal the job's process group (ignored once it has ended). */
  signal(sig: LaunchSignal): void;
}

export interface Launcher {
  run(req: LaunchRequest): Launch;
  /** End the launcher; jobs still running are killed and their launches fail. */
  close(): Promise<void>;
}

interface InFlight {
  resolve(r: LaunchResult): void;
  reject(e: Error): void;
}

/** Fields may not contain NUL (the separator); argv/env/paths never legitimately do. */
function checkField(what: string, s: string): string {
  if (s.includes('\0')) {
    throw AloftError.invalid({ where: what, message: 'contains a NUL character' });
  }
  return s;
}

function frame(fields: string[]): Buffer {
  const body = Buffer.from(fields.join('\0') + '\0', 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

function parseResult(o: Record<string, unknown>): LaunchResult {
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    exit: num(o['exit']),
    signal: str(o['signal']),
    utimeUs: num(o['utime_us']) ?? 0,
    stimeUs: num(o['stime_us']) ?? 0,
    maxRssKb: num(o['maxrss_kb']) ?? 0,
    execError: str(o['exec_error']),
    execErrno: num(o['exec_errno']),
    setupError: str(o['setup_error']),
    setupErrno: num(o['setup_errno']),
    setupWhat: str(o['setup_what']) as LaunchResult['setupWhat'],
    pid: num(o['pid']),
    stdoutBytes: num(o['stdout_bytes']) ?? 0,
    stderrBytes: num(o['stderr_bytes']) ?? 0,
  };
}

export function createLauncher(binary: string, logger: Logger): Launcher {
  let child: ChildProcessWithoutNullStreams | undefined;
  const inFlight = new Map<string, InFlight>();
  let nextId = 1;
  let stderrTail = '';

  function failAll(child_: ChildProcessWithoutNullStreams, why: string): void {
    if (child !== child_) return;
    child = undefined;
    const err = new AloftError('UNAVAILABLE', why);
    for (const f of inFlight.values()) f.reject(err);
    inFlight.clear();
  }

  function refresh(): void {
    // Keep the event loop alive only while jobs run (see the module header).
    if (!child) return;
    if (inFlight.size > 0) {
      child.ref();
      (child.stdout as unknown as { ref(): void }).ref();
    } else {
      child.unref();
      (child.stdout as unknown as { unref(): void }).unref();
      (child.stdin as unknown as { unref(): void }).unref();
      (child.stderr as unknown as { unref(): void }).unref();
    }
  }

  function start(): ChildProcessWithoutNullStreams {
    const c = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    child = c;
    stderrTail = '';
    let buf = '';
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let o: Record<string, unknown>;
        try {
          o = JSON.parse(line) as Record<string, unknown>;
        } catch {
          logger.error({ line }, 'aloft-launcher wrote a malformed reply');
          continue;
        }
        const id = String(o['id']);
        const f = inFlight.get(id);
        if (!f) continue;
        inFlight.delete(id);
        f.resolve(parseResult(o));
      }
      if (inFlight.size === 0) refresh();
    });
    c.stderr.setEncoding('utf8');
    c.stderr.on('data', (d: string) => {
      stderrTail = (stderrTail + d).slice(-2000);
    });
    // A write to a launcher that just died fails with EPIPE; the exit handler reports it.
    c.stdin.on('error', () => undefined);
    c.on('error', (e) => failAll(c, `aloft-launcher could not run: ${e.message}`));
    c.on('exit', (code, sig) => {
      const why = `aloft-launcher ended (${sig ?? `exit ${code}`})${stderrTail ? `: ${stderrTail.trim()}` : ''}`;
      if (inFlight.size > 0) logger.error({ code, signal: sig }, why);
      failAll(c, why);
    });
    return c;
  }

  return {
    run(req) {
      const env = Object.entries(req.env).map(([k, v]) => checkField(`env ${k}`, `${k}=${v}`));
      const argv = req.argv.map((a, i) => checkField(`argv[${i}]`, a));
      const stderr = req.stderr === undefined || req.stderr === req.stdout ? '' : req.stderr;
      const id = String(nextId++);
      const bytes = frame([
        'run',
        id,
        (req.dropEmpty?.stdout ? 'o' : '') + (req.dropEmpty?.stderr ? 'e' : ''),
        checkField('cwd', req.cwd),
        checkField('stdin', req.stdin ?? ''),
        checkField('stdout', req.stdout),
        checkField('stderr', stderr),
        String(argv.length),
        ...argv,
        String(env.length),
        ...env,
      ]);
      const c = child ?? start();
      const done = new Promise<LaunchResult>((resolve, reject) => {
        inFlight.set(id, { resolve, reject });
      });
      refresh();
      c.stdin.write(bytes);
      return {
        done,
        signal(sig) {
          if (child !== c || !inFlight.has(id)) return;
          c.stdin.write(frame(['signal', id, sig]));
        },
      };
    },

    async close() {
      const c = child;
      if (!c) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.ref(); // an idle launcher is unreferenced: waiting for its exit must keep us alive
      c.stdin.end();
      await exited;
    },
  };
}
