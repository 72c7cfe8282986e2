/**
 * The malformed-input corpus (issue 2): every bad workflow, catalog, trace and flag gives
 * exit code 2 and one clear message that names the problem — never a stack trace.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { aloft, BIN, REPO } from './helpers/cli.js';

const DIR = path.join(REPO, 'test', 'fixtures', 'malformed');
const GOOD = path.join(REPO, 'test', 'fixtures', 'good', 'workflow.yml');

/** [workflow file in the corpus, what the message must mention] */
const WORKFLOWS: [string, RegExp][] = [
  ['cycle.yml', /cycle.*\bA\b.*\bB\b.*\bC\b/is],
  ['self-dependency.yml', /cycle.*\bA\b/is],
  ['traversal-lfn.yml', /\.\.\/\.\.\/etc\/passwd|'\.\.'/],
  ['absolute-lfn.yml', /\/etc\/passwd.*(absolute|relative)|(absolute|relative).*\/etc\/passwd/is],
  ['bad-job-id.yml', /job one/],
  ['bad-job-id-slash.yml', /a\/b/],
  ['duplicate-ids.yml', /duplicate.*\bA\b/is],
  ['dangling-child.yml', /ghost_job/],
  ['dangling-parent.yml', /phantom_parent/],
  ['broken-unclosed-bracket.yml', /broken-unclosed-bracket\.yml:\d+/],
  ['broken-bad-indent.yml', /broken-bad-indent\.yml:\d+/],
  ['broken-tab-indent.yml', /broken-tab-indent\.yml:\d+/],
  ['broken-unterminated-quote.yml', /broken-unterminated-quote\.yml:\d+/],
  ['duplicate-keys.yml', /duplicate.*\bid\b/is],
  ['jobs-not-a-list.yml', /jobs/],
  ['uses-not-a-list.yml', /uses/],
  ['arguments-a-map.yml', /arguments/],
  ['use-without-lfn.yml', /lfn/],
  ['bad-use-type.yml', /banana/],
  ['unknown-transformation.yml', /frobnicator/],
  ['missing-input.yml', /never_made\.dat/],
  ['wrong-pegasus-version.yml', /4\.0/],
  ['undefined-variable.yml', /ALOFT_TEST_SURELY_UNDEFINED/],
  ['nul-in-lfn.yml', /NUL|\\0|null (byte|character)/i],
  ['two-producers.yml', /same\.out/],
  ['empty-file.yml', /empty|no workflow|not a (mapping|workflow)/i],
  ['top-level-list.yml', /\bmap\b|mapping|object|not a workflow/i],
  ['bad-retry-profile.yml', /retry.*many|many.*retry/is],
  ['negative-cores.yml', /cores/],
  ['missing-job-id.yml', /\bid\b/],
  ['bad-site-name.yml', /\.\.\/evil/],
  ['replica-without-pfns.yml', /pfns/],
  ['bad-transformation-type.yml', /banana/],
  ['alias-bomb.yml', /alias/i],
  ['deep-nesting-flow.yml', /nest|deep/i],
  ['deep-nesting-block.yml', /nest|deep/i],
  ['trace-wrong-types.json', /tasks/],
  ['trace-truncated.json', /trace-truncated\.json/],
];

/** [argv, what the message must mention] — bad flags and usage. */
const COMMANDS: [string[], RegExp][] = [
  [['run', GOOD, '--slots', '0'], /--slots/],
  [['run', GOOD, '--slots', 'many'], /--slots/],
  [['plan', GOOD, '--cleanup', 'sometimes'], /--cleanup.*sometimes|sometimes.*inplace/is],
  [['plan', GOOD, '--cluster', 'diagonal'], /diagonal/],
  [['plan', GOOD, '--bogus'], /--bogus/],
  [['plan'], /WORKFLOW/],
  [['plan', path.join(DIR, 'does-not-exist.yml')], /does-not-exist\.yml/],
  [['plan', GOOD, '--replicas', path.join(DIR, 'missing-replicas.yml')], /missing-replicas\.yml/],
  [
    ['plan', path.join(DIR, 'catalog-bad', 'workflow.yml')],
    /replicas\.yml.*pfns|pfns.*replicas\.yml/is,
  ],
  [['replay', path.join(DIR, 'trace-wrong-types.json'), '--time-scale', '-1'], /--time-scale/],
  [['status', path.join(DIR, 'no-such-run')], /not an aloft run directory/],
  [['analyze', DIR], /not an aloft run directory/],
  [['frobnicate'], /unknown command/],
];

function expectClean(r: { code: number | null; stderr: string }, re: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(re);
  // One clear message, never a stack trace.
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  expect(r.stderr).not.toMatch(/internal error/);
}

describe('malformed inputs exit 2 with a message that names the problem', () => {
  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`build first: ${BIN} is missing (npm run build)`);
  });

  it('the corpus has at least 30 inputs', () => {
    expect(WORKFLOWS.length + COMMANDS.length).toBeGreaterThanOrEqual(30);
  });

  for (const [file, re] of WORKFLOWS) {
    it(`plan ${file}`, async () => {
      const r = await aloft(['plan', path.join(DIR, file)], {
        env: { ALOFT_TEST_SURELY_UNDEFINED: undefined },
        timeoutMs: 30_000,
      });
      expectClean(r, re);
    });
  }

  for (const [argv, re] of COMMANDS) {
    it(`aloft ${argv.map((a) => path.basename(a)).join(' ')}`, async () => {
      expectClean(await aloft(argv, { timeoutMs: 30_000 }), re);
    });
  }
});
