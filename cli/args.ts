/**
 * Flag parsing on top of node:util parseArgs (strict): unknown flags, missing values and
 * malformed numbers become one AloftError naming the flag and pointing at --help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AloftError, type Problem } from '../lib/errors/index.js';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseFlags(command: string, argv: string[], options: FlagSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/\s*To specify.*$/s, '') : String(e);
    throw AloftError.invalid({
      where: `aloft ${command}`,
      message: msg,
      hint: `run 'aloft ${command} --help' for the flags it takes`,
    });
  }
}

/** Exactly `n` positionals, else a usage error naming what is missing or extra. */
export function positionals(command: string, parsed: Parsed, names: string[]): string[] {
  const got = parsed.positionals;
  if (got.length < names.length) {
    throw AloftError.invalid({
      where: `aloft ${command}`,
      message: `missing ${names.slice(got.length).join(' ')}`,
      hint: `usage: see 'aloft ${command} --help'`,
    });
  }
  if (got.length > names.length) {
    throw AloftError.invalid({
      where: `aloft ${command}`,
      message: `unexpected argument '${got[names.length]}'`,
      hint: `usage: see 'aloft ${command} --help'`,
    });
  }
  return got;
}

export function str(parsed: Parsed, name: string): string | undefined {
  const v = parsed.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(parsed: Parsed, name: string): boolean {
  return parsed.values[name] === true;
}

/** A numeric flag with bounds; collects into `problems` instead of throwing at once. */
export function num(
  command: string,
  parsed: Parsed,
  name: string,
  o: { min?: number; max?: number; integer?: boolean },
  problems: Problem[],
): number | undefined {
  const raw = str(parsed, name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  const bad =
    raw.trim() === '' ||
    !Number.isFinite(v) ||
    (o.integer && !Number.isInteger(v)) ||
    (o.min !== undefined && v < o.min) ||
    (o.max !== undefined && v > o.max);
  if (bad) {
    const range = [
      o.integer ? 'an integer' : 'a number',
      o.min !== undefined ? `>= ${o.min}` : '',
      o.max !== undefined ? `<= ${o.max}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    problems.push({
      where: `aloft ${command} --${name}`,
      message: `'${raw}' is not ${range}`,
      hint: `pass --${name} with ${range}`,
    });
    return undefined;
  }
  return v;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(
  command: string,
  parsed: Parsed,
  name: string,
  allowed: readonly T[],
  problems: Problem[],
): T | undefined {
  const raw = str(parsed, name);
  if (raw === undefined) return undefined;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  problems.push({
    where: `aloft ${command} --${name}`,
    message: `'${raw}' is not one of ${allowed.join(', ')}`,
    hint: `pass --${name} ${allowed.join('|')}`,
  });
  return undefined;
}

export function throwIfProblems(problems: Problem[]): void {
  if (problems.length > 0) throw AloftError.invalid(problems);
}
