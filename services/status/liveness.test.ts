import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pidAlive, probeLiveness } from './index.js';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aloft-live-'));
  await writeFile(path.join(dir, 'journal.jsonl'), '');
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
  await rm(dir, { recursive: true, force: true });
});

/** A real process that opens the journal with `flags` and says so, then waits. */
async function holder(flags: 'a' | 'r'): Promise<ChildProcess> {
  const code = `const fs=require('fs');fs.openSync(process.argv[1], '${flags}');process.stdout.write('open\\n');setInterval(()=>{},1000);`;
  const c = spawn(process.execPath, ['-e', code, path.join(dir, 'journal.jsonl')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(c);
  await new Promise<void>((resolve, reject) => {
    c.stdout!.on('data', () => resolve());
    c.on('exit', () => reject(new Error('holder exited early')));
  });
  return c;
}

async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await once(c, 'exit');
  return c.pid!;
}

describe('probeLiveness', () => {
  it('believes the lock file of the run: alive pid → live, dead pid → not live', async () => {
    const c = await holder('r');
    await writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: c.pid, started: 'x' }));
    expect(await probeLiveness(dir)).toMatchObject({ live: true, pid: c.pid });
    const gone = await deadPid();
    await writeFile(path.join(dir, 'lock'), `${gone}\n`);
    const l = await probeLiveness(dir);
    expect(l).toMatchObject({ live: false, pid: gone });
    expect(l.detail).toContain('not alive');
  });

  it.skipIf(!existsSync('/proc/self/fdinfo'))(
    'without a lock, a process with the journal open for writing is the engine',
    async () => {
      expect(await probeLiveness(dir)).toMatchObject({ live: false });
      const reader = await holder('r');
      // A reader (another `aloft status -w`) does not make the run live.
      expect((await probeLiveness(dir)).live).toBe(false);
      const writer = await holder('a');
      expect(await probeLiveness(dir)).toMatchObject({ live: true, pid: writer.pid });
      writer.kill('SIGKILL');
      await once(writer, 'exit');
      expect((await probeLiveness(dir)).live).toBe(false);
      expect(reader.exitCode).toBeNull();
    },
  );

  it('falls back to journal activity when there is no process table', async () => {
    const noProc = path.join(dir, 'no-proc');
    expect(await probeLiveness(dir, { procDir: noProc, recentMs: 60_000 })).toMatchObject({
      live: true,
    });
    expect(await probeLiveness(dir, { procDir: noProc, recentMs: -1 })).toMatchObject({
      live: false,
    });
  });

  it('pidAlive tells a live pid from a dead one', async () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(await deadPid())).toBe(false);
  });
});
