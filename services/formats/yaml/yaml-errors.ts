/**
 * How YAML problems are reported: one AloftError INVALID_ARGUMENT whose problem names the
 * file with a 1-based `line:column`, says what is wrong in plain words and how to fix it.
 * js-yaml's exceptions are translated here so that none of them escapes raw.
 */
import { AloftError } from '../../../lib/errors/index.js';

/** 1-based line and column of a UTF-16 offset; CRLF and lone CR count as one line break. */
export function lineColAt(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  const end = Math.min(pos, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 /* \n */) {
      line++;
      start = i + 1;
    } else if (c === 13 /* \r */) {
      if (text.charCodeAt(i + 1) === 10) i++;
      line++;
      start = i + 1;
    }
  }
  return { line, col: end - start + 1 };
}

export function yamlError(
  source: string,
  line: number,
  col: number,
  message: string,
  hint?: string,
): AloftError {
  return AloftError.invalid(
    hint === undefined
      ? { where: `${source}:${line}:${col}`, message }
      : { where: `${source}:${line}:${col}`, message, hint },
  );
}

export function yamlErrorAt(
  text: string,
  source: string,
  pos: number,
  message: string,
  hint?: string,
): AloftError {
  const { line, col } = lineColAt(text, pos);
  return yamlError(source, line, col, message, hint);
}

export function depthMessage(maxDepth: number): { message: string; hint: string } {
  return {
    message: `nesting deeper than ${maxDepth} levels`,
    hint: 'flatten the document; a workflow never needs this much nesting (the limit is maxDepth)',
  };
}

/** The shape of js-yaml's YAMLException that we rely on. */
interface YamlExceptionLike {
  name: string;
  reason?: string;
  mark?: { line: number; column: number; position: number };
}

export function isYamlException(e: unknown): e is YamlExceptionLike {
  return e instanceof Error && e.name === 'YAMLException';
}

const HINT_INDENT =
  'indent every key of one mapping, and every "-" of one list, to the same column, using spaces; ' +
  "quote a value that contains ': ' or ' #'";

/** Translate a js-yaml exception into our error, naming the offending key where possible. */
export function fromYamlException(
  e: YamlExceptionLike,
  text: string,
  source: string,
  maxDepth: number,
  /** Where the fast path saw an unclosed quote or bracket open, if that is why it stopped. */
  opened?: { quote?: number; flow?: number },
): AloftError {
  const reason = e.reason ?? 'invalid YAML';
  const mark = e.mark;
  // From the offset, not js-yaml's line/column (which can disagree with it, e.g. a negative
  // column for some duplicate keys); js-yaml's offsets skip a leading BOM.
  const at = mark ? mark.position + (text.charCodeAt(0) === 0xfeff ? 1 : 0) : 0;
  let { line, col } = lineColAt(text, at);
  let message = reason;
  let hint: string | undefined;

  if (reason === 'duplicated mapping key') {
    const key = mark ? keyAt(text, at) : undefined;
    message = key === undefined ? 'duplicate key' : `duplicate key '${key}'`;
    hint = 'a key may appear only once in a mapping; remove or rename one of them';
  } else if (
    /^unexpected end of the (stream|document) within a (single|double) quoted scalar/.test(reason)
  ) {
    message = 'unterminated quoted string';
    hint = 'close the string with the same quote it was opened with';
    if (opened?.quote !== undefined) {
      ({ line, col } = lineColAt(text, opened.quote));
      message = 'unterminated quoted string (the quote opened here is never closed)';
    }
  } else if (reason === 'unexpected end of the stream within a flow collection') {
    message = "unclosed '[' or '{' (the flow collection is never closed)";
    hint = "close every '[' with ']' and every '{' with '}'";
    if (opened?.flow !== undefined) {
      ({ line, col } = lineColAt(text, opened.flow));
      const bracket = text.charAt(opened.flow);
      message = `unclosed '${bracket}' (opened here, never closed with '${bracket === '[' ? ']' : '}'}')`;
    }
  } else if (reason === 'missed comma between flow collection entries') {
    hint = 'separate the entries of [ ... ] and { ... } with commas, or close the bracket';
  } else if (reason.startsWith('bad indentation of a')) {
    hint = HINT_INDENT;
  } else if (reason === 'tab characters must not be used in indentation') {
    hint = 'YAML forbids tabs in indentation; indent with spaces';
  } else if (reason.startsWith('nesting exceeded maxDepth')) {
    ({ message, hint } = depthMessage(maxDepth));
  } else if (reason === 'expected a single document in the stream, but found more') {
    line = secondDocumentLine(text);
    col = 1;
    message = 'more than one YAML document in the file';
    hint = "a workflow or catalog file holds exactly one document; remove the extra '---'";
  } else if (reason === 'end of the stream or a document separator is expected') {
    message = 'unexpected content after the end of the document';
    hint = HINT_INDENT;
  } else if (reason.startsWith('can not read an implicit mapping pair')) {
    message = "a mapping entry is missing its ':'";
    hint = "write 'key: value' (a colon followed by a space)";
  } else if (
    reason.startsWith('a whitespace character is expected after the key-value separator')
  ) {
    message = "missing space after ':' in a mapping entry";
    hint = "write 'key: value' (a colon followed by a space), or quote a value that contains ':'";
  } else if (reason.startsWith('unidentified alias')) {
    hint = 'define the anchor (&name) before using the alias (*name)';
  } else if (reason.startsWith('unknown tag')) {
    hint = "remove the '!' tag; aloft reads every scalar as a string";
  } else if (reason === 'null byte is not allowed in input' || reason.includes('non-printable')) {
    hint = 'the file is binary or corrupted; YAML is text';
  } else if (reason === 'unknown escape sequence' || reason === 'expected hexadecimal character') {
    hint =
      'inside double quotes write a backslash as \\\\, or use single quotes (no escapes there)';
  } else if (reason.startsWith('can not read a block mapping entry; a multiline key')) {
    message = "a line inside a mapping is not a 'key: value' entry";
    hint = "check the line above for a missing ':' or bad indentation";
  } else if (reason.startsWith('expected the node content')) {
    hint = 'remove the empty entry (two commas in a row, or a comma right after the bracket)';
  }
  return yamlError(source, line, col, message, hint);
}

/** The key text at a position (for duplicate-key messages): quoted or up to ':'. */
function keyAt(text: string, pos: number): string | undefined {
  const q = text.charAt(pos);
  if (q === '"' || q === "'") {
    const end = text.indexOf(q, pos + 1);
    return end > pos ? text.slice(pos + 1, end) : undefined;
  }
  const m = /^([^\r\n]*?)\s*:(?:\s|$)/.exec(text.slice(pos, pos + 1024));
  return m?.[1] || undefined;
}

/** Line where a second document starts (js-yaml gives no position for this error). */
function secondDocumentLine(text: string): number {
  const lines = text.split(/\r\n|\r|\n/);
  let started = false;
  let ended = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (/^---(?:[ \t]|$)/.test(l)) {
      if (started || ended) return i + 1;
      started = true;
    } else if (/^\.\.\.(?:[ \t]|$)/.test(l)) {
      ended = true;
    } else if (/^[ \t]*[^ \t#]/.test(l)) {
      if (ended) return i + 1;
      started = true;
    }
  }
  return 1;
}
