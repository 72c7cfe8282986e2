/**
 * loadYamlFile reads real files from a temporary directory: plain and gzip-compressed,
 * with the byte limit enforced before reading (plain) and while inflating (gzip), errors
 * naming the file, and cancellation through an AbortSignal.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AloftError } from '../../../lib/errors/index.js';
import { loadYamlFile, type YamlParseStats } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aloft-yaml-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const WORKFLOW = 'pegasus: "5.0"\nname: diamond\njobs:\n  - id: ID1\n    arguments: [-a, "1"]\n';
const PARSED = { pegasus: '5.0', name: 'diamond', jobs: [{ id: 'ID1', arguments: ['-a', '1'] }] };

async function failure(p: Promise<unknown>): Promise<AloftError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AloftError);
    return e as AloftError;
  }
  throw new Error('expected a failure');
}

describe('loadYamlFile', () => {
  it('reads a YAML file on the fast path', async () => {
    const file = path.join(dir, 'workflow.yml');
    await writeFile(file, WORKFLOW);
    const stats: YamlParseStats = {};
    expect(await loadYamlFile(file, { stats })).toEqual(PARSED);
    expect(stats.path).toBe('fast');
  });

  it('gunzips .gz files, and gzip content whatever its name', async () => {
    const gz = path.join(dir, 'workflow.yml.gz');
    await writeFile(gz, gzipSync(WORKFLOW));
    expect(await loadYamlFile(gz)).toEqual(PARSED);
    const disguised = path.join(dir, 'disguised.yml');
    await writeFile(disguised, gzipSync(WORKFLOW));
    expect(await loadYamlFile(disguised)).toEqual(PARSED);
  });

  it('names the file and line in parse errors', async () => {
    const file = path.join(dir, 'broken.yml');
    await writeFile(file, 'a: 1\na: 2\n');
    const e = await failure(loadYamlFile(file));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.problems[0]).toMatchObject({ where: `${file}:2:1`, message: "duplicate key 'a'" });
  });

  it('rejects a file over the byte limit from its size', async () => {
    const file = path.join(dir, 'big.yml');
    await writeFile(file, WORKFLOW);
    const e = await failure(loadYamlFile(file, { limits: { maxBytes: 10 } }));
    expect(e.problems[0]).toMatchObject({
      where: file,
      message: 'larger than the limit of 10 bytes',
    });
  });

  it('stops inflating a gzip bomb at the byte limit', async () => {
    const file = path.join(dir, 'bomb.yml.gz');
    const inflated = 64 * 1024 * 1024;
    const bomb = gzipSync(Buffer.alloc(inflated, 'a'));
    expect(bomb.length).toBeLessThan(inflated / 500);
    await writeFile(file, bomb);
    const e = await failure(loadYamlFile(file, { limits: { maxBytes: 1024 * 1024 } }));
    expect(e.problems[0]).toMatchObject({
      where: file,
      message: 'larger than the limit of 1048576 bytes',
    });
  });

  it('reports a corrupt gzip file', async () => {
    const file = path.join(dir, 'corrupt.yml.gz');
    await writeFile(
      file,
      Buffer.concat([gzipSync(WORKFLOW).subarray(0, 12), Buffer.from('garbage')]),
    );
    const e = await failure(loadYamlFile(file));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.problems[0]!.message).toMatch(/not a valid gzip file/);
  });

  it('reports a missing file as NOT_FOUND', async () => {
    const e = await failure(loadYamlFile(path.join(dir, 'missing.yml')));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain('missing.yml');
  });

  it('honours an AbortSignal', async () => {
    const file = path.join(dir, 'workflow.yml');
    await writeFile(file, WORKFLOW);
    const e = await failure(loadYamlFile(file, { signal: AbortSignal.abort() }));
    expect(e.code).toBe('CANCELLED');
    const gz = path.join(dir, 'workflow.yml.gz');
    await writeFile(gz, gzipSync(WORKFLOW));
    expect((await failure(loadYamlFile(gz, { signal: AbortSignal.abort() }))).code).toBe(
      'CANCELLED',
    );
  });
});
