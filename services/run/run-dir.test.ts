import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJournal } from '../journal/index.js';
import {
  digestOf,
  listRuns,
  lockRunDir,
  numberedRunDir,
  OutputReplicaCatalog,
  readOutputReplicas,
  runPaths,
  runState,
  safeRunName,
  storedPlanDigest,
  initRunDir,
  RUN_INFO_FORMAT,
  type RunInfo,
} from './index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'aloft-rundir-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('output replica catalog', () => {
  it('writes a Pegasus replica catalog atomically, merging pfns per lfn, and reopens it', async () => {
    const file = path.join(dir, 'output-replicas.yml');
    const c = OutputReplicaCatalog.open(file);
    await c.add([{ lfn: 'f.d', pfn: 'file:///out/f.d', site: 'local', sha256: 'ab', size: 3 }]);
    await Promise.all([
      c.add([{ lfn: 'f.e', pfn: 'file:///out/f.e', site: 'local' }]),
      c.add([{ lfn: 'f.d', pfn: 's3://b/f.d', site: 'cloud' }]),
      c.add([{ lfn: 'f.d', pfn: 'file:///out/f.d', site: 'local' }]),
    ]);
    expect(readdirSync(dir)).toEqual(['output-replicas.yml']);
    const doc = yaml.load(readFileSync(file, 'utf8'));
    expect(doc).toEqual({
      pegasus: '5.0',
      replicas: [
        {
          lfn: 'f.d',
          pfns: [
            { site: 'local', pfn: 'file:///out/f.d' },
            { site: 'cloud', pfn: 's3://b/f.d' },
          ],
          checksum: { sha256: 'ab' },
          metadata: { size: '3' },
        },
        { lfn: 'f.e', pfns: [{ site: 'local', pfn: 'file:///out/f.e' }] },
      ],
    });
    const again = OutputReplicaCatalog.open(file);
    expect(again.lfns()).toEqual(['f.d', 'f.e']);
    expect(readOutputReplicas(file)).toContainEqual({
      lfn: 'f.d',
      pfn: 'file:///out/f.d',
      site: 'local',
      sha256: 'ab',
      size: 3,
    });
    expect(readOutputReplicas(path.join(dir, 'none.yml'))).toEqual([]);
  });
});

describe('run directory', () => {
  it('knows how a run ended from its journal', async () => {
    expect(runState(dir)).toBe('new');
    const j = await openJournal(dir);
    await j.append({
      type: 'run_started',
      runId: 'r',
      workflow: 'w',
      planDigest: 'd',
      jobs: 1,
      resumed: false,
    });
    expect(runState(dir)).toBe('running');
    await j.append({ type: 'run_finished', state: 'failed' });
    expect(runState(dir)).toBe('failed');
    await j.append({
      type: 'run_started',
      runId: 'r',
      workflow: 'w',
      planDigest: 'd',
      jobs: 1,
      resumed: true,
    });
    expect(runState(dir)).toBe('running');
    await j.append({ type: 'run_finished', state: 'succeeded' });
    await j.close();
    expect(runState(dir)).toBe('succeeded');
  });

  it('numbers default run dirs per workflow and makes names safe', () => {
    const root = path.join(dir, 'runs');
    for (const n of ['diamond-001', 'diamond-002', 'diamond-010', 'diamondx-003', 'other-001']) {
      mkdirSync(path.join(root, n), { recursive: true });
    }
    expect(listRuns(root, 'diamond').map((r) => r.n)).toEqual([1, 2, 10]);
    expect(numberedRunDir(root, 'diamond', 11)).toBe(path.join(root, 'diamond-011'));
    expect(safeRunName('../my wf/x')).toBe('__my_wf_x');
    expect(safeRunName('..')).toBe('_');
    expect(listRuns(path.join(dir, 'absent'), 'diamond')).toEqual([]);
  });

  it('stores the plan and run info; the digest is the plan file sha256', async () => {
    const runDir = path.join(dir, 'r1');
    const chunks = ['{"a":', '1}\n'];
    const info: RunInfo = {
      format: RUN_INFO_FORMAT,
      runId: 'r1',
      workflow: { path: '/w.yml', name: 'w' },
      created: new Date().toISOString(),
      outputDir: '/out',
      options: {} as RunInfo['options'],
      planDigest: digestOf(chunks),
    };
    await initRunDir(runDir, chunks, info);
    expect(readFileSync(runPaths(runDir).plan, 'utf8')).toBe('{"a":1}\n');
    expect(storedPlanDigest(runDir)).toBe(digestOf('{"a":1}\n'));
    expect(storedPlanDigest(dir)).toBeUndefined();
  });

  it('locks a run dir against a live process and takes over a dead one', async () => {
    const runDir = path.join(dir, 'r');
    const lock = await lockRunDir(runDir);
    expect(readFileSync(runPaths(runDir).lock, 'utf8').trim()).toBe(String(process.pid));
    await lock.release();

    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(runPaths(runDir).lock, `${child.pid}\n`);
      await expect(lockRunDir(runDir)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
    }
    // The holder is gone (kill -9): the lock is stale and taken over.
    const again = await lockRunDir(runDir);
    await again.release();
  });
});
