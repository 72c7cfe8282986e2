/**
 * Fault points: the ALOFT_FAULTS syntax and its errors, and real crashes — a child Node
 * process running the built module (dist/) is SIGKILLed on the armed hit and not before.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AloftError } from '../errors/index.js';
import { REPO } from '../../test/helpers/cli.js';
import { FAULT_POINTS, FAULTS_ENV, armFaults, faultPoint, parseFaults } from './index.js';

const BUILT = path.join(REPO, 'dist', 'lib', 'faults', 'index.js');

function problemsOf(spec: string): AloftError {
  try {
    parseFaults(spec);
  } catch (e) {
    if (e instanceof AloftError) return e;
    throw e;
  }
  throw new Error(`'${spec}' parsed`);
}

describe('parseFaults', () => {
  it('reads name[@N] lists; empty means nothing armed', () => {
    expect(parseFaults('')).toEqual([]);
    expect(parseFaults('  ')).toEqual([]);
    expect(parseFaults('scheduler.result.received')).toEqual([
      { name: 'scheduler.result.received', hit: 1 },
    ]);
    expect(parseFaults(' scheduler.dispatch.offered@3 , scheduler.result.journaled@12')).toEqual([
      { name: 'scheduler.dispatch.offered', hit: 3 },
      { name: 'scheduler.result.journaled', hit: 12 },
    ]);
  });

  it('reports every problem at once, each naming the variable and the entry', () => {
    const e = problemsOf(
      'scheduler.result.recieved,Bad!@2,,scheduler.dispatch.offered@0,scheduler.result.journaled@',
    );
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(FAULTS_ENV);
    expect(e.problems).toHaveLength(5);
    for (const p of e.problems) expect(p.where).toContain(FAULTS_ENV);
    expect(e.problems[0]).toMatchObject({
      where: "ALOFT_FAULTS entry 'scheduler.result.recieved'",
      message: "no fault point 'scheduler.result.recieved'",
      hint: "did you mean 'scheduler.result.received'?",
    });
    expect(e.problems[1]?.message).toMatch(/'Bad!' is not a fault point name/);
    expect(e.problems[2]?.message).toMatch(/empty entry/);
    expect(e.problems[3]?.message).toMatch(/'@0' is not a hit count/);
    expect(e.problems[4]?.message).toMatch(/'@' is not a hit count/);
  });

  it('rejects a point listed twice and unknown well-formed names', () => {
    const e = problemsOf('scheduler.result.received,scheduler.result.received@2,no.such-point');
    expect(e.problems.map((p) => p.message)).toEqual([
      "fault point 'scheduler.result.received' is listed twice",
      "no fault point 'no.such-point'",
    ]);
    expect(e.problems[1]?.hint).toContain('scheduler.dispatch.offered');
  });

  it('names every point within [a-z0-9.-]+', () => {
    for (const name of Object.keys(FAULT_POINTS)) expect(name).toMatch(/^[a-z0-9.-]+$/);
  });

  it('armFaults validates and arms; an unarmed point returns', () => {
    expect(() => armFaults('scheduler.nope')).toThrow(/ALOFT_FAULTS/);
    expect(armFaults(undefined)).toEqual([]);
    expect(() => faultPoint('scheduler.result.received')).not.toThrow();
  });
});

/** Run a child that hits `point` five times, printing the hit number before each. */
function hitFiveTimes(env: Record<string, string>, arm?: string) {
  const script = `
    import { writeSync } from 'node:fs';
    const f = await import(${JSON.stringify(BUILT)});
    ${arm !== undefined ? `f.armFaults(${JSON.stringify(arm)});` : ''}
    for (let i = 1; i <= 5; i++) {
      writeSync(1, i + '\\n');
      f.faultPoint('scheduler.result.received');
    }
    writeSync(1, 'done\\n');`;
  const env_ = { ...process.env, ...env };
  if (!(FAULTS_ENV in env)) delete env_[FAULTS_ENV];
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: env_,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe.skipIf(!existsSync(BUILT))('faultPoint in a real process', () => {
  it('SIGKILLs the process on the N-th hit, nothing after it runs', () => {
    const r = hitFiveTimes({ [FAULTS_ENV]: 'scheduler.result.received@3' });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('1\n2\n3\n');
    expect(r.stderr).toContain('fault point scheduler.result.received (hit 3): SIGKILL');
  });

  it('crashes on the first hit by default', () => {
    const r = hitFiveTimes({ [FAULTS_ENV]: 'scheduler.result.received' });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('1\n');
  });

  it('does nothing for points not listed, or when the variable is unset', () => {
    const envs: Record<string, string>[] = [{ [FAULTS_ENV]: 'scheduler.dispatch.offered' }, {}];
    for (const env of envs) {
      const r = hitFiveTimes(env);
      expect(r.signal).toBeNull();
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('1\n2\n3\n4\n5\ndone\n');
    }
  });

  it('armFaults at startup replaces what the environment would arm', () => {
    const r = hitFiveTimes(
      { [FAULTS_ENV]: 'scheduler.result.received' },
      'scheduler.result.received@5',
    );
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('1\n2\n3\n4\n5\n');
  });
});
