/**
 * Fault points: deterministic crash windows for the fault tests, in the spirit of
 * FoundationDB's buggify and etcd's gofail. Code marks a dangerous window with
 * `faultPoint('name')`; when the environment variable ALOFT_FAULTS lists that name, the
 * process kills itself there with SIGKILL — a real `kill -9`: nothing is flushed, no
 * handler runs, no `finally` block, exactly as if the machine had lost power at that line
 * (only the kernel's page cache survives, as with a real crash). A test can thus crash a
 * daemon in a window a random `kill -9` from outside would hit only by luck.
 *
 * Syntax: `ALOFT_FAULTS=name[@N][,name2[@N]]` — crash on the N-th hit of that point in
 * this process (default 1, the first). Names are known points (below), from [a-z0-9.-].
 * The variable is read once, at the first faultPoint() call, unless a binary armed the
 * points explicitly at startup with armFaults() (which validates: `aloft scheduler` exits
 * 2 with every problem of a malformed ALOFT_FAULTS). When nothing is armed a fault point
 * costs one Map lookup.
 *
 * The points (FAULT_POINTS), all in services/scheduler/scheduler.ts:
 * - `scheduler.dispatch.offered` — an agent accepted an offer (its reply arrived) and is
 *   running the attempt, but the acceptance is not processed: no `attempt_started` is in
 *   the journal. The agent runs an attempt the journal does not know.
 * - `scheduler.result.received` — a result for a live workflow arrived; nothing of it is
 *   journaled yet. The agent's outbox retransmits it.
 * - `scheduler.result.journaled` — an accepted result and its decision are durable in the
 *   journal; the ack is not sent. The agent retransmits a result already counted.
 */
import { writeSync } from 'node:fs';
import { didYouMean } from '../config/index.js';
import { AloftError, type Problem } from '../errors/index.js';

/** The variable that arms fault points. */
export const FAULTS_ENV = 'ALOFT_FAULTS';

/** Every fault point compiled into aloft, with the window it marks. */
export const FAULT_POINTS = {
  'scheduler.dispatch.offered':
    'an agent accepted an offer; its acceptance is not yet journaled (attempt_started)',
  'scheduler.result.received': 'a result arrived; nothing of it is journaled yet',
  'scheduler.result.journaled': 'an accepted result is durable in the journal; not yet acked',
} as const satisfies Record<string, string>;

export type FaultPointName = keyof typeof FAULT_POINTS;

/** One armed point: crash on its `hit`-th hit. */
export interface FaultSpec {
  name: FaultPointName;
  hit: number;
}

const NAME = /^[a-z0-9.-]+$/;
const ENTRY = /^([^@]*)(?:@(.*))?$/;

function isPoint(name: string): name is FaultPointName {
  return Object.prototype.hasOwnProperty.call(FAULT_POINTS, name);
}

/**
 * Parse `name[@N][,name2[@N]]` (whitespace around entries is ignored; empty = nothing
 * armed). Throws AloftError INVALID_ARGUMENT listing every problem, each naming the
 * variable, the entry and the fix.
 */
export function parseFaults(spec: string): FaultSpec[] {
  const text = spec.trim();
  if (text === '') return [];
  const out: FaultSpec[] = [];
  const problems: Problem[] = [];
  const where = (entry: string): string => `${FAULTS_ENV} entry '${entry}'`;
  const known = Object.keys(FAULT_POINTS).join(', ');
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const m = ENTRY.exec(entry);
    const name = m?.[1] ?? '';
    const n = m?.[2];
    if (entry === '') {
      problems.push({
        where: FAULTS_ENV,
        message: 'has an empty entry',
        hint: 'separate entries with single commas: name[@N][,name2[@N]]',
      });
      continue;
    }
    if (!NAME.test(name)) {
      problems.push({
        where: where(entry),
        message: `'${name}' is not a fault point name ([a-z0-9.-]+)`,
        hint: `use name[@N]; known points: ${known}`,
      });
      continue;
    }
    if (!isPoint(name)) {
      const near = didYouMean(name, Object.keys(FAULT_POINTS));
      problems.push({
        where: where(entry),
        message: `no fault point '${name}'`,
        hint: near ? `did you mean '${near}'?` : `known points: ${known}`,
      });
      continue;
    }
    let hit = 1;
    if (n !== undefined) {
      hit = /^[0-9]+$/.test(n) ? Number(n) : NaN;
      if (!Number.isSafeInteger(hit) || hit < 1) {
        problems.push({
          where: where(entry),
          message: `'@${n}' is not a hit count`,
          hint: 'N is a positive integer: crash on the N-th hit (default 1)',
        });
        continue;
      }
    }
    if (out.some((f) => f.name === name)) {
      problems.push({
        where: where(entry),
        message: `fault point '${name}' is listed twice`,
        hint: 'list each point once',
      });
      continue;
    }
    out.push({ name, hit });
  }
  if (problems.length > 0) {
    throw AloftError.invalid(problems, `${FAULTS_ENV} is malformed: ${problems.length} problem(s)`);
  }
  return out;
}

interface Armed {
  hit: number;
  hits: number;
}

/** Armed points by name; undefined until armFaults() or the first faultPoint(). */
let armed: Map<string, Armed> | undefined;

/**
 * Arm the points `spec` lists (ALOFT_FAULTS syntax; undefined or empty = none), replacing
 * whatever was armed, with hit counts from zero. Validates first (see parseFaults): a
 * binary calls it at startup with its environment's ALOFT_FAULTS.
 */
export function armFaults(spec: string | undefined): FaultSpec[] {
  const specs = parseFaults(spec ?? '');
  armed = new Map(specs.map((f) => [f.name, { hit: f.hit, hits: 0 }]));
  return specs;
}

/**
 * A crash window: SIGKILL this process here on the armed hit (see the module header).
 * At the first call with nothing armed, arms from process.env.ALOFT_FAULTS (a malformed
 * value throws its INVALID_ARGUMENT error here; binaries validate it at startup instead).
 */
export function faultPoint(name: FaultPointName): void {
  if (armed === undefined) armFaults(process.env[FAULTS_ENV]);
  const f = armed!.get(name);
  if (f === undefined) return;
  f.hits++;
  if (f.hits === f.hit) crash(name, f.hits);
}

function crash(name: string, hit: number): never {
  try {
    // One synchronous line so a test's log shows which point fired (not a logger: those
    // buffer, and nothing else may be flushed).
    writeSync(2, `aloft: fault point ${name} (hit ${hit}): SIGKILL\n`);
  } catch {
    // stderr closed: crash anyway.
  }
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL cannot be caught or ignored; should kill() ever return, never run past the point.
  process.abort();
}
