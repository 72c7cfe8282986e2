/**
 * The scratch pool on real directories in a temp dir: spares are made by renaming empty
 * scratch dirs into the pool and handed out by renaming them back (the same inode), full
 * dirs are removed and never pooled, the pool is bounded, and start() forgets whatever an
 * earlier process left in the pool's directory.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScratchPool } from './scratch-pool.js';

let tmp: string;
let scratch: string;
let poolDir: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-scratch-pool-'));
  scratch = path.join(tmp, 'scratch');
  poolDir = path.join(tmp, '.scratch-pool');
  await mkdir(scratch);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function startedPool(max = 4): Promise<ScratchPool> {
  const pool = new ScratchPool(poolDir, max);
  await pool.start();
  return pool;
}

const inode = (p: string): number => statSync(p).ino;

describe('ScratchPool', () => {
  it('fresh on an empty pool makes an empty directory', async () => {
    const pool = await startedPool();
    const dir = path.join(scratch, 'j.1.1');
    await pool.fresh(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    expect(pool.size).toBe(0);
  });

  it('recycles an empty directory: release pools it, the next fresh renames it back', async () => {
    const pool = await startedPool();
    const first = path.join(scratch, 'a.1.1');
    await pool.fresh(first);
    const ino = inode(first);
    await pool.release(first);
    expect(existsSync(first)).toBe(false);
    expect(pool.size).toBe(1);
    // The spare lives in the pool's own directory.
    const spares = await readdir(poolDir);
    expect(spares).toHaveLength(1);
    expect(inode(path.join(poolDir, spares[0]!))).toBe(ino);

    const second = path.join(scratch, 'b.1.1');
    await pool.fresh(second);
    expect(pool.size).toBe(0);
    expect(await readdir(poolDir)).toEqual([]);
    // The same directory, renamed: no new one was made.
    expect(inode(second)).toBe(ino);
    expect(await readdir(second)).toEqual([]);
  });

  it('removes a non-empty directory recursively on release and does not pool it', async () => {
    const pool = await startedPool();
    const dir = path.join(scratch, 'full.1.1');
    await pool.fresh(dir);
    await mkdir(path.join(dir, 'sub', 'deeper'), { recursive: true });
    await writeFile(path.join(dir, 'sub', 'deeper', 'out.dat'), 'x'.repeat(1000));
    await writeFile(path.join(dir, 'stdout.txt'), 'hello');
    await pool.release(dir);
    expect(existsSync(dir)).toBe(false);
    expect(pool.size).toBe(0);
    expect(await readdir(poolDir)).toEqual([]);
  });

  it('keeps at most `max` spares; empty directories beyond that are removed', async () => {
    const pool = await startedPool(2);
    const dirs = ['a', 'b', 'c', 'd'].map((n) => path.join(scratch, `${n}.1.1`));
    for (const d of dirs) await pool.fresh(d);
    for (const d of dirs) await pool.release(d);
    for (const d of dirs) expect(existsSync(d)).toBe(false);
    expect(pool.size).toBe(2);
    expect(await readdir(poolDir)).toHaveLength(2);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('fresh over a full leftover at the target yields an empty directory and keeps the spare', async () => {
    const pool = await startedPool();
    const spareSource = path.join(scratch, 'done.1.1');
    await pool.fresh(spareSource);
    await pool.release(spareSource);
    expect(pool.size).toBe(1);
    // A failed earlier try of the same attempt left its scratch behind, full.
    const target = path.join(scratch, 'retry.1.1');
    await mkdir(path.join(target, 'nested'), { recursive: true });
    await writeFile(path.join(target, 'nested', 'partial.out'), 'partial');
    await pool.fresh(target);
    expect(await readdir(target)).toEqual([]);
    expect(pool.size).toBe(1);
    expect(await readdir(poolDir)).toHaveLength(1);
    // The spare kept is still handed out whole.
    const next = path.join(scratch, 'next.1.1');
    await pool.fresh(next);
    expect(pool.size).toBe(0);
    expect(await readdir(next)).toEqual([]);
  });

  it('fresh over an empty leftover at the target uses the spare in its place', async () => {
    const pool = await startedPool();
    const spareSource = path.join(scratch, 'done.1.1');
    await pool.fresh(spareSource);
    const ino = inode(spareSource);
    await pool.release(spareSource);
    const target = path.join(scratch, 'again.1.1');
    await mkdir(target);
    await pool.fresh(target);
    expect(await readdir(target)).toEqual([]);
    expect(inode(target)).toBe(ino);
    expect(pool.size).toBe(0);
  });

  it('fresh over a full leftover with an empty pool also yields an empty directory', async () => {
    const pool = await startedPool();
    const target = path.join(scratch, 'left.1.1');
    await mkdir(target);
    await writeFile(path.join(target, 'junk'), 'junk');
    await pool.fresh(target);
    expect(await readdir(target)).toEqual([]);
    expect(pool.size).toBe(0);
  });

  it('start() empties the pool directory: nothing an earlier process left is handed out', async () => {
    await mkdir(path.join(poolDir, 's0', 'inside'), { recursive: true });
    await writeFile(path.join(poolDir, 's0', 'inside', 'secret'), 'old data');
    await writeFile(path.join(poolDir, 'stray-file'), 'x');
    const pool = await startedPool();
    expect(await readdir(poolDir)).toEqual([]);
    expect(pool.size).toBe(0);
    const dir = path.join(scratch, 'new.1.1');
    await pool.fresh(dir);
    expect(await readdir(dir)).toEqual([]);
  });

  it('start() makes the pool directory when it does not exist', async () => {
    const pool = new ScratchPool(path.join(tmp, 'deeper', 'pool'), 2);
    await pool.start();
    expect(statSync(path.join(tmp, 'deeper', 'pool')).isDirectory()).toBe(true);
  });

  it('release of a directory that does not exist is not an error', async () => {
    const pool = await startedPool();
    await expect(pool.release(path.join(scratch, 'never.1.1'))).resolves.toBeUndefined();
    expect(pool.size).toBe(0);
  });
});
