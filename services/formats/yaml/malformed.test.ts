/**
 * Broken YAML gives one AloftError INVALID_ARGUMENT whose problem names `file:line:column`
 * (1-based), says what is wrong and, where we can say more than "fix it", how to fix it.
 * No raw js-yaml exception, RangeError or stack trace ever escapes.
 */
import { describe, expect, it } from 'vitest';
import { AloftError } from '../../../lib/errors/index.js';
import { parseYaml } from './index.js';

interface Broken {
  name: string;
  text: string;
  /** Expected `where` (line:column). */
  at: string;
  message: RegExp;
  hint?: RegExp;
}

const BROKEN: Broken[] = [
  {
    name: "unclosed '['",
    text: 'jobs:\n  - id: a\n    arguments: [-a, b\n',
    at: '3:16',
    message: /unclosed '\['/,
    hint: /close every/,
  },
  {
    name: "unclosed '{'",
    text: 'uses: {lfn: a, type: input\n',
    at: '1:7',
    message: /unclosed '\{'/,
  },
  {
    name: 'bad indentation of a mapping entry',
    text: 'a:\n  b: 1\n   c: 2\n',
    at: '3:5',
    message: /bad indentation of a mapping entry/,
    hint: /same column/,
  },
  {
    name: 'bad indentation of a list item',
    text: 'jobs:\n  - a\n - b\n',
    at: '3:2',
    message: /bad indentation/,
  },
  {
    name: 'tab indentation',
    text: 'jobs:\n\t- id: a\n',
    at: '2:1',
    message: /tab characters must not be used in indentation/,
    hint: /spaces/,
  },
  {
    name: 'unterminated double-quoted string',
    text: 'name: "diamond\nid: x\n',
    at: '1:7',
    message: /unterminated quoted string/,
    hint: /close the string/,
  },
  {
    name: 'unterminated single-quoted string',
    text: "a: 1\nname: 'diamond\n",
    at: '2:7',
    message: /unterminated quoted string/,
  },
  {
    name: 'duplicate key',
    text: 'id: a\nname: x\nid: b\n',
    at: '3:1',
    message: /^duplicate key 'id'$/,
    hint: /only once/,
  },
  {
    name: 'duplicate key in a job',
    text: 'jobs:\n  - id: a\n    name: x\n    id: b\n',
    at: '4:5',
    message: /^duplicate key 'id'$/,
  },
  {
    name: 'duplicate quoted key',
    text: '"a": 1\n\'a\': 2\n',
    at: '2:1',
    message: /^duplicate key 'a'$/,
  },
  {
    name: 'duplicate key in a flow mapping',
    text: '- {a: 1, a: 2}\n',
    at: '1:10',
    message: /duplicate key 'a'/,
  },
  {
    name: 'missing colon',
    text: 'a: 1\nb\nc: 2\n',
    at: '3:2',
    message: /not a 'key: value' entry/,
    hint: /missing ':'/,
  },
  {
    name: 'colon without a space after a quoted key',
    text: '"a":b\n',
    at: '1:5',
    message: /missing space after ':'/,
  },
  {
    name: "a value containing ': '",
    text: 'cmd: echo a: b\n',
    at: '1:12',
    message: /bad indentation/,
    hint: /quote a value/,
  },
  {
    name: 'two documents',
    text: 'a: 1\n---\nb: 2\n',
    at: '2:1',
    message: /more than one YAML document/,
    hint: /exactly one document/,
  },
  {
    name: 'unknown escape',
    text: 'a: "c:\\q"\n',
    at: '1:8',
    message: /unknown escape sequence/,
    hint: /backslash/,
  },
  { name: 'unknown tag', text: 'a: !foo x\n', at: '1:10', message: /unknown tag/ },
  { name: 'undefined alias', text: 'a: *nope\n', at: '1:9', message: /unidentified alias "nope"/ },
  { name: 'null byte', text: 'a: 1\0\n', at: '1:5', message: /null byte/, hint: /binary/ },
  { name: 'empty flow entry', text: 'a: [b,, c]\n', at: '1:7', message: /found ','/ },
  {
    name: 'text after the document',
    text: '- a\nb: c\n',
    at: '2:1',
    message: /after the end of the document/,
  },
  {
    name: 'CRLF lines count once',
    text: 'a: 1\r\nb: 2\r\na: 3\r\n',
    at: '3:1',
    message: /duplicate key 'a'/,
  },
];

function problemOf(text: string): { where: string; message: string; hint?: string } {
  try {
    parseYaml(text, 'flows/workflow.yml');
  } catch (e) {
    expect(e).toBeInstanceOf(AloftError);
    const err = e as AloftError;
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.retryable).toBe(false);
    expect(err.problems).toHaveLength(1);
    expect(err.message).toBe(`${err.problems[0]!.where}: ${err.problems[0]!.message}`);
    return err.problems[0]!;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

describe('malformed YAML', () => {
  it('has at least ten kinds of broken input', () => {
    expect(BROKEN.length).toBeGreaterThanOrEqual(10);
  });

  for (const b of BROKEN) {
    it(b.name, () => {
      const p = problemOf(b.text);
      expect(p.where).toBe(`flows/workflow.yml:${b.at}`);
      expect(p.message).toMatch(b.message);
      if (b.hint) expect(p.hint).toMatch(b.hint);
      expect(p.message).not.toMatch(/\n|YAMLException|at .*\.js/);
    });
  }
});
