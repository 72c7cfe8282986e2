/**
 * Turning one raw value into a field's typed value. Text (env, flags) and file values
 * (already-parsed YAML: numbers, booleans, sequences, mappings, or text) both land here;
 * what is wrong comes back as one sentence, never an exception. A secret's value is never
 * echoed in a message.
 */
import path from 'node:path';
import type { Field } from './schema.js';

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

const ok = (value: unknown): Parsed => ({ ok: true, value });
const bad = (message: string): Parsed => ({ ok: false, message });

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PIECE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** `1m30s` → 90000; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!DURATION.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(PIECE)) ms += Number(m[1]) * (UNITS[m[2] ?? ''] ?? NaN);
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** 90000 → `1m30s` (for messages and --help). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

function shown(field: Field, raw: unknown): string {
  if (field.secret) return '[redacted]';
  const text = typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw);
  return text === undefined ? String(raw) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function bounds(
  v: number,
  min: number | undefined,
  max: number | undefined,
  fmt: (n: number) => string = String,
): string | undefined {
  if (min !== undefined && v < min) return `must be at least ${fmt(min)}`;
  if (max !== undefined && v > max) return `must be at most ${fmt(max)}`;
  return undefined;
}

function scalarText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw === 'boolean') return String(raw);
  return undefined;
}

/**
 * Parse `raw` for `field`. `fromFile` says the raw value came from a parsed file (so
 * sequences and mappings are allowed); `baseDir` resolves relative paths.
 */
export function parseValue(field: Field, raw: unknown, baseDir: string, fromFile: boolean): Parsed {
  const parsed = parseTyped(field, raw, baseDir, fromFile);
  if (!parsed.ok || !field.check) return parsed;
  const problem = (field.check as (v: unknown) => string | undefined)(parsed.value);
  return problem === undefined ? parsed : bad(problem);
}

function parseTyped(field: Field, raw: unknown, baseDir: string, fromFile: boolean): Parsed {
  const got = shown(field, raw);
  switch (field.type) {
    case 'string': {
      const t = scalarText(raw);
      if (t === undefined) return bad(`must be a text value, got ${got}`);
      if (t === '') return bad('must not be empty');
      return ok(t);
    }
    case 'path': {
      if (typeof raw !== 'string') return bad(`must be a path, got ${got}`);
      if (raw.trim() === '') return bad('must not be empty');
      if (raw.includes('\0')) return bad('must not contain a NUL character');
      return ok(path.resolve(baseDir, raw));
    }
    case 'integer':
    case 'number': {
      const t = scalarText(raw);
      const v = t === undefined || t.trim() === '' || typeof raw === 'boolean' ? NaN : Number(t);
      const kind = field.type === 'integer' ? 'an integer' : 'a number';
      if (!Number.isFinite(v) || (field.type === 'integer' && !Number.isInteger(v))) {
        return bad(`must be ${kind}, got ${got}`);
      }
      const b = bounds(v, field.min, field.max);
      return b ? bad(`${b}, got ${got}`) : ok(v);
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return ok(raw);
      const t = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
      if (t === 'true' || t === '1' || t === 'yes' || t === 'on') return ok(true);
      if (t === 'false' || t === '0' || t === 'no' || t === 'off') return ok(false);
      return bad(`must be true or false, got ${got}`);
    }
    case 'duration': {
      const v = typeof raw === 'string' ? parseDuration(raw) : undefined;
      if (v === undefined) {
        return bad(
          `must be a duration with a unit such as 500ms, 5s, 2m or 1h, got ${got}` +
            (typeof raw === 'number' ? ` (add a unit: ${raw}s?)` : ''),
        );
      }
      const b = bounds(v, field.min, field.max, formatDuration);
      return b ? bad(`${b}, got ${got}`) : ok(v);
    }
    case 'enum': {
      const t = scalarText(raw);
      if (t === undefined || !field.values.includes(t)) {
        return bad(`must be one of ${field.values.join(', ')}, got ${got}`);
      }
      return ok(t);
    }
    case 'list': {
      let items: unknown[];
      if (Array.isArray(raw) && fromFile) items = raw;
      else if (typeof raw === 'string') items = raw.split(',').map((s) => s.trim());
      else return bad(`must be a list of text values (or 'a,b,c'), got ${got}`);
      const out: string[] = [];
      for (const [i, item] of items.entries()) {
        const t = scalarText(item);
        if (t === undefined || t.trim() === '') {
          return bad(`item ${i + 1} must be a non-empty text value, got ${shown(field, item)}`);
        }
        out.push(t.trim());
      }
      return ok(out);
    }
    case 'map': {
      const out: Record<string, string> = {};
      if (fromFile && raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
        for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
          const t = scalarText(v);
          if (t === undefined)
            return bad(`value of '${k}' must be a text value, got ${shown(field, v)}`);
          out[k] = t;
        }
        return ok(out);
      }
      if (typeof raw !== 'string') return bad(`must be a mapping (or 'k=v,k2=v2'), got ${got}`);
      if (raw.trim() === '') return ok(out);
      for (const pair of raw.split(',')) {
        const eq = pair.indexOf('=');
        const k = eq < 0 ? '' : pair.slice(0, eq).trim();
        if (k === '')
          return bad(`'${field.secret ? '[redacted]' : pair.trim()}' is not k=v (use 'k=v,k2=v2')`);
        if (k in out) return bad(`key '${k}' is given twice`);
        out[k] = pair.slice(eq + 1).trim();
      }
      return ok(out);
    }
  }
}
