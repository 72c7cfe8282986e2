import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

async function check(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('bash', ['scripts/gen-proto.sh', '--check', ...args], { cwd: REPO });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('proto:check (generated code drift)', () => {
  it('passes on the committed code and fails on a tampered copy or a changed schema', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-proto-drift-'));
    try {
      const ok = await check();
      expect(ok.out).toContain('matches');
      expect(ok.code).toBe(0);

      const copy = path.join(tmp, 'generated');
      await cp(path.join(REPO, 'proto/generated'), copy, { recursive: true });
      expect((await check(copy)).code).toBe(0);
      const js = path.join(copy, 'aloft.js');
      await writeFile(
        js,
        (await readFile(js, 'utf8')).replace('reader.uint32()', 'reader.int32()'),
      );
      const tampered = await check(copy);
      expect(tampered.code).toBe(1);
      expect(tampered.out).toContain('out of date');
      expect(tampered.out).toContain('npm run proto:gen');

      const schemas = path.join(tmp, 'schemas');
      await cp(path.join(REPO, 'proto/schemas'), schemas, { recursive: true });
      await appendFile(
        path.join(schemas, 'aloft/v1/agent.proto'),
        '\nmessage Extra { string x = 1; }\n',
      );
      const drifted = await check('--schemas', schemas);
      expect(drifted.code).toBe(1);
      expect(drifted.out).toContain('aloft.js');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
