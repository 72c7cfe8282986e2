/**
 * A crashed agent leaves no orphan jobs: a separate node process runs an agent whose
 * attempt is `sleep 30` started by aloft-launcher; that node process is killed with SIGKILL (no
 * chance to clean up) and the sleep must die with it (PR_SET_PDEATHSIG chain:
 * agent → launcher → job). The child process runs the compiled agent from dist/.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../test/helpers/cli.js';
import { alive, cmdline, until } from '../../test/helpers/proc.js';

const DIST = path.join(REPO, 'dist');
const LAUNCHER = path.join(DIST, 'bin', 'aloft-launcher');

let dir: string;
beforeAll(async () => {
  execFileSync('bash', [path.join(REPO, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
  if (!existsSync(path.join(DIST, 'agents', 'agent', 'index.js'))) {
    // dist/ is normally built before the tests (scripts/test.sh); build it if it is not.
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'ignore' });
    } catch {
      // type errors elsewhere still emit JavaScript
    }
  }
  dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-pdeath-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('orphan protection', () => {
  it('kill -9 of the agent process kills its running job', async () => {
    expect(existsSync(LAUNCHER)).toBe(true);
    const marker = path.join(dir, 'job.pid');
    const script = path.join(dir, 'agent-child.mjs');
    const dist = (p: string): string => pathToFileURL(path.join(DIST, p)).href;
    await writeFile(
      script,
      `
import { createAgent } from ${JSON.stringify(dist('agents/agent/index.js'))};
import { createInProcessTransport } from ${JSON.stringify(dist('lib/transport/index.js'))};
import { createProtocolDriver, processJob } from ${JSON.stringify(dist('agents/testing/index.js'))};
const [workDir, marker] = process.argv.slice(2);
const transport = createInProcessTransport();
const agent = createAgent({ id: 'crashy', site: 'local', sites: [], transport, workDir, slots: 1 });
await agent.start();
const driver = createProtocolDriver(transport, 'crashy');
const { reply } = await driver.offer(
  processJob('sleeper', ['/bin/sh', '-c', 'echo $$ > "$1"; exec /bin/sleep 30', 'sh', marker]),
);
if (!reply.accepted) process.exit(3);
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script, path.join(dir, 'work'), marker], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    let pid = 0;
    try {
      await until(
        'the job to start',
        () => existsSync(marker) && readFileSync(marker, 'utf8').endsWith('\n'),
      );
      pid = Number((await readFile(marker, 'utf8')).trim());
      await until('the job to exec sleep', () => cmdline(pid)[0] === '/bin/sleep');
      expect(alive(pid)).toBe(true);
      const launcherPid = Number(
        readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1],
      );
      expect(cmdline(launcherPid)[0]).toBe(LAUNCHER);

      child.kill('SIGKILL');
      await exited;
      await until('the orphaned job to die', () => !alive(pid) || cmdline(pid)[0] !== '/bin/sleep');
      await until(
        'the launcher to die',
        () => !alive(launcherPid) || cmdline(launcherPid)[0] !== LAUNCHER,
      );
    } finally {
      child.kill('SIGKILL');
      // Should the protection fail, do not leave the orphan behind (killed by its pid).
      if (pid > 0 && alive(pid) && cmdline(pid)[0] === '/bin/sleep') process.kill(pid, 'SIGKILL');
    }
  });
});
