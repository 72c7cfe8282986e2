/**
 * Label selectors (Kubernetes-style) for `aloft.selector` profiles: parsing, evaluation
 * against an agent's labels, and a plain-language rendering for `aloft analyze`.
 *
 * Grammar (clauses are ANDed; operators are case-insensitive; whitespace is free):
 *
 *   selector := clause ( ',' clause )*
 *   clause   := key                          Exists: the agent has the label
 *             | '!' key                      DoesNotExist: the agent lacks the label
 *             | key 'In' '(' values ')'      the label's value is one of values
 *             | key 'NotIn' '(' values ')'   the label is absent or its value is not one of values
 *             | key ( '=' | '==' ) value     shorthand for key In (value)
 *             | key '!=' value               shorthand for key NotIn (value)
 *             | key 'Gt' integer             the label's value is an integer greater than it
 *             | key 'Lt' integer             the label's value is an integer less than it
 *   values   := value ( ',' value )*
 *   key      := [prefix '/'] name             prefix: a DNS subdomain, e.g. example.org
 *   name     := [A-Za-z0-9] ( [A-Za-z0-9_.-]* [A-Za-z0-9] )?   at most 63 characters
 *   value    := name | ''                     (an empty value only inside In/NotIn lists)
 *
 * Semantics follow Kubernetes node affinity: NotIn and != match agents without the label;
 * Gt and Lt need the label present and an integer value.
 */
import { AloftError, type Problem } from '../../lib/errors/index.js';

export type SelectorOp = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface SelectorClause {
  key: string;
  op: SelectorOp;
  /** In/NotIn: the value set; Gt/Lt: one integer as text; Exists/DoesNotExist: empty. */
  values: string[];
  /** The clause in canonical form, e.g. `zone In (a,b)`. */
  text: string;
}

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?';
const KEY = `(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?/)?${NAME}`;
const KEY_RE = new RegExp(`^${KEY}$`);
const VALUE_RE = new RegExp(`^(?:${NAME})?$`);
const INT_RE = /^[-+]?\d+$/;

const GRAMMAR_HINT =
  'write clauses like `key`, `!key`, `key In (a,b)`, `key NotIn (a)`, `key=v`, `key!=v`, `key Gt 3`, `key Lt 5`, separated by commas';

/** Split at top-level commas (commas inside parentheses belong to a value list). */
function splitClauses(text: string): { parts: string[]; unbalanced: boolean } {
  const parts: string[] = [];
  let depth = 0;
  let unbalanced = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth < 0) {
        unbalanced = true;
        depth = 0;
      }
    } else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return { parts, unbalanced: unbalanced || depth !== 0 };
}

function keyProblem(key: string, clause: string): string | undefined {
  if (!KEY_RE.test(key)) return `'${key}' in clause '${clause}' is not a valid label key`;
  const name = key.slice(key.lastIndexOf('/') + 1);
  if (name.length > 63) return `label key '${key}' is longer than 63 characters`;
  return undefined;
}

function canonical(key: string, op: SelectorOp, values: string[]): string {
  switch (op) {
    case 'Exists':
      return key;
    case 'DoesNotExist':
      return `!${key}`;
    case 'In':
    case 'NotIn':
      return `${key} ${op} (${values.join(',')})`;
    default:
      return `${key} ${op} ${values[0] ?? ''}`;
  }
}

/** Parse one clause; returns the clause or a message saying what is wrong with it. */
function parseClause(raw: string): SelectorClause | string {
  const clause = raw.trim();
  if (clause === '') return 'empty clause (a stray comma?)';
  const make = (key: string, op: SelectorOp, values: string[]): SelectorClause | string => {
    const bad = keyProblem(key, clause);
    if (bad) return bad;
    if (op === 'In' || op === 'NotIn') {
      for (const v of values) {
        if (!VALUE_RE.test(v) || v.length > 63) {
          return `'${v}' in clause '${clause}' is not a valid label value`;
        }
      }
    }
    return { key, op, values, text: canonical(key, op, values) };
  };

  let m = /^!\s*(\S+)$/.exec(clause);
  if (m) return make(m[1]!, 'DoesNotExist', []);
  m = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(clause);
  if (m) {
    const value = m[3]!;
    if (value === '') return `clause '${clause}' has no value after '${m[2]!}'`;
    return make(m[1]!, m[2] === '!=' ? 'NotIn' : 'In', [value]);
  }
  m = /^(\S+)\s+(in|notin)\b\s*(.*)$/i.exec(clause);
  if (m) {
    const op: SelectorOp = m[2]!.toLowerCase() === 'in' ? 'In' : 'NotIn';
    const list = /^\((.*)\)$/.exec(m[3]!.trim());
    if (!list)
      return `clause '${clause}': ${op} expects a parenthesised list, like ${m[1]!} ${op} (a,b)`;
    const values = list[1]!.split(',').map((v) => v.trim());
    if (values.length === 1 && values[0] === '')
      return `clause '${clause}': ${op} needs at least one value`;
    return make(m[1]!, op, values);
  }
  m = /^(\S+)\s+(gt|lt)\b\s*(.*)$/i.exec(clause);
  if (m) {
    const op: SelectorOp = m[2]!.toLowerCase() === 'gt' ? 'Gt' : 'Lt';
    const n = m[3]!.trim();
    if (!INT_RE.test(n)) return `clause '${clause}': ${op} needs one integer, got '${n}'`;
    return make(m[1]!, op, [String(Number(n))]);
  }
  if (/^\S+$/.test(clause)) return make(clause, 'Exists', []);
  return `cannot parse clause '${clause}'`;
}

/**
 * Parse a selector. Every bad clause is reported at once as one AloftError
 * INVALID_ARGUMENT whose problems name `where` (e.g. `job j7: profile aloft.selector`)
 * and the clause. An empty or blank selector selects every agent.
 */
export function parseSelector(text: string, where: string): SelectorClause[] {
  if (text.trim() === '') return [];
  const { parts, unbalanced } = splitClauses(text);
  const problems: Problem[] = [];
  if (unbalanced) {
    problems.push({
      where,
      message: `unbalanced parentheses in selector '${text}'`,
      hint: GRAMMAR_HINT,
    });
    throw AloftError.invalid(problems);
  }
  const clauses: SelectorClause[] = [];
  for (const part of parts) {
    const r = parseClause(part);
    if (typeof r === 'string') problems.push({ where, message: r, hint: GRAMMAR_HINT });
    else clauses.push(r);
  }
  if (problems.length > 0) throw AloftError.invalid(problems);
  return clauses;
}

/** Whether labels satisfy one clause (Kubernetes node-affinity semantics). */
export function clauseMatches(
  labels: Readonly<Record<string, string>>,
  c: SelectorClause,
): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, c.key);
  const value = has ? labels[c.key] : undefined;
  switch (c.op) {
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'In':
      return value !== undefined && c.values.includes(value);
    case 'NotIn':
      return value === undefined || !c.values.includes(value);
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !INT_RE.test(value.trim())) return false;
      const v = Number(value);
      const bound = Number(c.values[0]);
      return c.op === 'Gt' ? v > bound : v < bound;
    }
  }
}

/** Whether labels satisfy every clause. */
export function selectorMatches(
  labels: Readonly<Record<string, string>>,
  clauses: readonly SelectorClause[],
): boolean {
  for (const c of clauses) if (!clauseMatches(labels, c)) return false;
  return true;
}

/** The clause in words, for summaries: "label zone in {a, b}". */
export function describeClause(c: SelectorClause): string {
  switch (c.op) {
    case 'Exists':
      return `label ${c.key} present`;
    case 'DoesNotExist':
      return `label ${c.key} absent`;
    case 'In':
      return c.values.length === 1
        ? `label ${c.key} = ${c.values[0]}`
        : `label ${c.key} in {${c.values.join(', ')}}`;
    case 'NotIn':
      return c.values.length === 1
        ? `label ${c.key} not ${c.values[0]}`
        : `label ${c.key} not in {${c.values.join(', ')}}`;
    case 'Gt':
      return `label ${c.key} > ${c.values[0]}`;
    case 'Lt':
      return `label ${c.key} < ${c.values[0]}`;
  }
}
