/**
 * The fast path: a hand-written single-pass parser for the YAML that Pegasus' Python API,
 * PyYAML and people write — block mappings and sequences (with `- key: v` and `- - x`
 * compact nesting), flow `[...]` / `{...}`, plain / single- / double-quoted scalars,
 * comments, a leading `---` and a trailing `...`.
 *
 * Contract: the result is exactly what js-yaml's `load(text, { schema: FAILSAFE_SCHEMA })`
 * returns (every scalar a string, `key:` with nothing is null, duplicate keys rejected).
 * The rules below mirror js-yaml's loader, quirks included. Whenever the input leaves the
 * subset (anchors, aliases, tags, block scalars, directives, explicit `?` keys, several
 * documents, tabs in indentation, unusual characters) or is malformed, the parser *bails*
 * (throws `Bail`) and the caller hands the text to js-yaml, which either parses it or
 * reports the error with its position. The fast path itself only throws for nesting deeper
 * than `maxDepth` (a limit, not a syntax question). It never recurses deeper than that.
 *
 * Memory note: scalars are slices of the source text, and V8 keeps a slice of 13+ chars as
 * a view into its parent, so the parsed tree keeps the source string alive (about the file
 * size). Copying each such string (`(' ' + x).slice(1)`) was measured at ~13% more parse
 * time for ~20% less memory held by a parsed 100k-job workflow; parse speed won.
 */
import { depthMessage, yamlErrorAt } from './yaml-errors.js';

/** Bail reasons that locate an error better than js-yaml can (where the thing opened). */
export const UNTERMINATED_QUOTE = 'unterminated quoted scalar';
export const UNTERMINATED_FLOW = 'unterminated flow collection';

/** Thrown to leave the fast path; carries why and where (for stats and error positions). */
export class Bail {
  constructor(
    readonly reason: string,
    readonly pos: number,
  ) {}
}

// Character classes, indexed by char code (< 128). Code points >= 128 are ordinary content
// except those js-yaml rejects in plain scalars (checked where plain scalars are scanned).
/** Chars that can never end or start anything inside a plain scalar: letters, digits, most punctuation. */
const WORD = new Uint8Array(128);
/** `,[]{}` */
const FLOW_IND = new Uint8Array(128);
/** Chars that cannot start a plain scalar (js-yaml readPlainScalar). */
const NOT_PLAIN_START = new Uint8Array(128);
for (let c = 33; c < 127; c++) WORD[c] = 1;
for (const ch of ':#,[]{}') WORD[ch.charCodeAt(0)] = 0;
for (const ch of ',[]{}') FLOW_IND[ch.charCodeAt(0)] = 1;
for (const ch of ' \t\r\n,[]{}#&*!|>\'"%@`') NOT_PLAIN_START[ch.charCodeAt(0)] = 1;

/** Double-quoted escapes js-yaml accepts (besides \x \u \U and an escaped line break). */
const SIMPLE_ESCAPES: Record<number, string> = {
  0x30: '\x00',
  0x61: '\x07',
  0x62: '\x08',
  0x74: '\x09',
  0x09: '\x09',
  0x6e: '\x0a',
  0x76: '\x0b',
  0x66: '\x0c',
  0x72: '\x0d',
  0x65: '\x1b',
  0x20: ' ',
  0x22: '"',
  0x2f: '/',
  0x5c: '\\',
  0x4e: '\x85',
  0x5f: '\xa0',
  0x4c: '\u2028',
  0x50: '\u2029',
};

function isWsOrEol(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

type YamlMap = Record<string, unknown>;

/** Strings up to this length are looked up in the parser's intern table (see `text`). */
const MAX_INTERNED = 24;
const INTERN_SLOTS = 4096;

/**
 * Parse `text` on the fast path. Throws `Bail` when js-yaml must decide, or AloftError
 * INVALID_ARGUMENT when nesting exceeds `maxDepth`.
 */
export function fastParse(text: string, source: string, maxDepth: number): unknown {
  return new FastParser(text, source, maxDepth).parseDocument();
}

class FastParser {
  private readonly s: string;
  private readonly n: number;
  private readonly source: string;
  private readonly maxDepth: number;
  /** Current offset. */
  private pos = 0;
  /** Offset of the first char of the line holding `pos` (kept exact across multi-line tokens). */
  private lineStart = 0;
  /** After moving to a content line: its indentation (leading spaces), or -1 at the end. */
  private indent = 0;
  private depth = 0;
  /** Set by continuePlain when it stopped on the next content line (`pos`/`indent` set). */
  private landed = false;
  /** Offsets of the flow collections being read (to say where an unclosed one opened). */
  private readonly flowOpen: number[] = [];
  /** Items of the sequences being read, innermost last (see parseBlockSequence). */
  private readonly items: unknown[] = [];
  /** Per nesting level, the first keys of the block mapping being read (duplicate check). */
  private readonly keyScratch: string[][] = [];
  /** Number of entries of `items` in use (the array is never shrunk while parsing). */
  private top = 0;
  private readonly interned: string[] = new Array<string>(INTERN_SLOTS).fill('');

  constructor(text: string, source: string, maxDepth: number) {
    this.s = text;
    this.n = text.length;
    this.source = source;
    this.maxDepth = maxDepth;
  }

  /**
   * `s.slice(a, b)`, reusing the string from an earlier identical slice when there is one.
   * Keys and many values (`type: input`, `stageOut: false`) repeat thousands of times; one
   * shared string instead of thousands of copies saves allocation, GC and key hashing.
   */
  private text(a: number, b: number): string {
    const s = this.s;
    const len = b - a;
    if (len > MAX_INTERNED || len === 0) return s.slice(a, b);
    const h =
      (len * 31 +
        s.charCodeAt(a) * 7 +
        s.charCodeAt(b - 1) * 131 +
        s.charCodeAt(a + (len >> 1)) * 17) &
      (INTERN_SLOTS - 1);
    const known = this.interned[h]!;
    // startsWith compares natively (several times cheaper than a charCodeAt loop here).
    if (known.length === len && s.startsWith(known, a)) return known;
    const fresh = s.slice(a, b);
    this.interned[h] = fresh;
    return fresh;
  }

  private push(item: unknown): void {
    this.items[this.top++] = item;
  }

  private bail(reason: string, pos: number = this.pos): Bail {
    return new Bail(reason, pos);
  }

  private enter(pos: number): void {
    if (++this.depth > this.maxDepth) {
      const { message, hint } = depthMessage(this.maxDepth);
      throw yamlErrorAt(this.s, this.source, pos, message, hint);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Document

  parseDocument(): unknown {
    const s = this.s;
    let start = 0;
    if (s.charCodeAt(0) === 0xfeff) start = 1;
    if (s.indexOf('\0') !== -1) throw this.bail('null byte', s.indexOf('\0'));
    this.pos = start;
    this.lineStart = start;
    this.skipToContentFromLineStart(start);
    if (this.indent < 0) throw this.bail('empty document');
    let p = this.pos;
    let c = s.charCodeAt(p);
    if (this.indent === 0 && c === 37 /* % */) throw this.bail('directive');
    if (this.indent === 0 && s.startsWith('---', p)) {
      // js-yaml takes any `---` at the start as the marker, even when text follows it.
      if (this.markerAt(p) !== 45) throw this.bail('text glued to ---', p);
      this.pos = p + 3;
      this.finishLine('content after ---');
      if (this.indent < 0) throw this.bail('empty document');
      p = this.pos;
      c = s.charCodeAt(p);
    }
    if (this.indent === 0 && this.markerAt(p) !== 0) throw this.bail('empty document');
    const value = this.parseBlockNode(this.indent - 1, true);
    if (this.indent < 0) return value;
    if (this.indent === 0 && this.markerAt(this.pos) === 46 /* ... */) {
      this.pos += 3;
      this.finishLine('content after ...');
      if (this.indent < 0) return value;
    }
    throw this.bail('content after the document');
  }

  /** 45 for `---`, 46 for `...` (followed by white space or the end), else 0. */
  private markerAt(p: number): number {
    const s = this.s;
    const c = s.charCodeAt(p);
    if ((c === 45 || c === 46) && s.charCodeAt(p + 1) === c && s.charCodeAt(p + 2) === c) {
      const f = s.charCodeAt(p + 3);
      if (p + 3 >= this.n || isWsOrEol(f)) return c;
    }
    return 0;
  }

  // ---------------------------------------------------------------------------------------
  // Lines

  /**
   * Finish the current line (white space and an optional comment, nothing else), then move
   * to the next content line: `pos` at its first char, `indent` set (-1 at the end).
   */
  private finishLine(what: string): void {
    const s = this.s;
    let p = this.pos;
    let c = s.charCodeAt(p);
    while (c === 32 || c === 9) c = s.charCodeAt(++p);
    if (c === 35 /* # */) {
      do c = s.charCodeAt(++p);
      while (c !== 10 && c !== 13 && p < this.n);
    }
    if (p >= this.n) {
      this.pos = this.n;
      this.indent = -1;
      return;
    }
    if (c !== 10 && c !== 13) throw this.bail(what, p);
    this.skipToContent(p);
  }

  /** From a line break at `p`: skip blank and comment lines; land on the next content line. */
  private skipToContent(p: number): void {
    const s = this.s;
    if (s.charCodeAt(p) === 13 && s.charCodeAt(p + 1) === 10) p += 2;
    else p++;
    this.skipToContentFromLineStart(p);
  }

  private skipToContentFromLineStart(p: number): void {
    const s = this.s;
    const n = this.n;
    for (;;) {
      const ls = p;
      let c = s.charCodeAt(p);
      while (c === 32) c = s.charCodeAt(++p);
      if (c === 9) {
        // A tab in the leading white space is fine on blank and comment lines only.
        while (c === 9 || c === 32) c = s.charCodeAt(++p);
        if (c !== 10 && c !== 13 && c !== 35 && p < n) throw this.bail('tab in indentation', p);
      }
      if (c === 35 /* # */) {
        do c = s.charCodeAt(++p);
        while (c !== 10 && c !== 13 && p < n);
      }
      if (p >= n) {
        this.pos = n;
        this.lineStart = ls;
        this.indent = -1;
        return;
      }
      if (c === 10) {
        p++;
        continue;
      }
      if (c === 13) {
        p += s.charCodeAt(p + 1) === 10 ? 2 : 1;
        continue;
      }
      this.pos = p;
      this.lineStart = ls;
      this.indent = p - ls;
      return;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Block nodes

  /**
   * A node that starts at `pos` in block context. `parentIndent` is the indentation of the
   * enclosing collection (continuation lines of plain scalars need more than that);
   * `compact` allows a block collection to start here (on its own line, or after `- `).
   * Returns with `pos` on the next content line (`indent` set).
   */
  private parseBlockNode(parentIndent: number, compact: boolean): unknown {
    const s = this.s;
    const p = this.pos;
    const c = s.charCodeAt(p);
    const col = p - this.lineStart;
    if (c === 45 /* - */ && (isWsOrEol(s.charCodeAt(p + 1)) || p + 1 >= this.n)) {
      if (!compact) throw this.bail('block sequence where a scalar is expected');
      return this.parseBlockSequence(col);
    }
    if (c === 91 /* [ */ || c === 123 /* { */) {
      const v = this.parseFlowCollection(parentIndent + 1);
      this.afterInlineNode();
      return v;
    }
    if (c === 34 /* " */ || c === 39 /* ' */) {
      const ls = this.lineStart;
      const v = c === 34 ? this.readDoubleQuoted() : this.readSingleQuoted();
      let q = this.pos;
      let d = s.charCodeAt(q);
      while (d === 32 || d === 9) d = s.charCodeAt(++q);
      if (d === 58 /* : */) {
        if (!compact || this.lineStart !== ls) throw this.bail('quoted key here', q);
        if (!isWsOrEol(s.charCodeAt(q + 1)) && q + 1 < this.n)
          throw this.bail('no space after :', q);
        this.pos = q;
        return this.parseBlockMapping(col, v);
      }
      this.finishLine('content after a quoted scalar');
      return v;
    }
    if (c < 128 && NOT_PLAIN_START[c] === 1) throw this.bail('not a plain scalar', p);
    if (c === 63 /* ? */ || c === 58 /* : */) {
      // `?`/`:` followed by white space: explicit key / empty key.
      if (isWsOrEol(s.charCodeAt(p + 1)) || p + 1 >= this.n) throw this.bail('explicit key', p);
    }
    const end = this.scanPlainLine(p, false);
    if (s.charCodeAt(this.pos) === 58 /* : */) {
      if (!compact) throw this.bail('mapping on the line of a key', this.pos);
      return this.parseBlockMapping(col, this.text(p, end));
    }
    const v = this.continuePlain(p, end, parentIndent + 1, false);
    if (this.landed) {
      this.landed = false;
      return v;
    }
    this.finishLine('content after a scalar');
    return v;
  }

  /** After a flow collection in block context: `:` would make it a key (left to js-yaml). */
  private afterInlineNode(): void {
    const s = this.s;
    let q = this.pos;
    let d = s.charCodeAt(q);
    while (d === 32 || d === 9) d = s.charCodeAt(++q);
    if (d === 58 /* : */) throw this.bail('collection as a key', q);
    this.finishLine('content after a flow collection');
  }

  /** A block mapping at column `mi` whose first key is read and `pos` is on its `:`. */
  private parseBlockMapping(mi: number, firstKey: string): YamlMap {
    this.enter(this.lineStart + mi);
    const s = this.s;
    const map: YamlMap = {};
    const keys =
      this.keyScratch[this.depth] ?? (this.keyScratch[this.depth] = new Array<string>(8));
    let count = 0;
    let key = firstKey;
    for (;;) {
      // `pos` is on the `:` after `key`, and the `:` is followed by white space or the end.
      let p = this.pos + 1;
      let c = s.charCodeAt(p);
      while (c === 32 || c === 9) c = s.charCodeAt(++p);
      this.pos = p;
      let value: unknown = null;
      if (c === 10 || c === 13 || c === 35 || p >= this.n) {
        this.finishLine('');
        const ind = this.indent;
        if (ind > mi) {
          value = this.parseBlockNode(mi, true);
        } else if (ind === mi) {
          const q = this.pos;
          if (s.charCodeAt(q) === 45 && (isWsOrEol(s.charCodeAt(q + 1)) || q + 1 >= this.n)) {
            value = this.parseBlockSequence(mi);
          }
        }
      } else {
        value = this.parseBlockNode(mi, false);
      }
      // Duplicate check: compare with the keys so far while the mapping is small (cheaper
      // than a keyed lookup on objects of many shapes), then ask the object.
      if (count < 8) {
        for (let i = 0; i < count; i++) if (keys[i] === key) throw this.bail('duplicate key');
        keys[count] = key;
      } else if (map[key] !== undefined && Object.hasOwn(map, key)) {
        throw this.bail('duplicate key');
      }
      count++;
      if (key === '__proto__') {
        Object.defineProperty(map, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else {
        map[key] = value;
      }
      const ind = this.indent;
      if (ind < mi) break; // includes the end (-1)
      if (ind > mi) throw this.bail('bad indentation of a mapping entry');
      if (ind === 0 && this.markerAt(this.pos) !== 0) break;
      key = this.readBlockKey();
    }
    this.depth--;
    return map;
  }

  /** A key at `pos` on a new line of a block mapping; leaves `pos` on its `:`. */
  private readBlockKey(): string {
    const s = this.s;
    const p = this.pos;
    const c = s.charCodeAt(p);
    let key: string;
    if (c === 34 || c === 39) {
      const ls = this.lineStart;
      key = c === 34 ? this.readDoubleQuoted() : this.readSingleQuoted();
      if (this.lineStart !== ls) throw this.bail('multi-line key', p);
      let q = this.pos;
      let d = s.charCodeAt(q);
      while (d === 32 || d === 9) d = s.charCodeAt(++q);
      this.pos = q;
    } else {
      if (c < 128 && NOT_PLAIN_START[c] === 1) throw this.bail('not a key', p);
      if (
        (c === 63 || c === 58 || c === 45) &&
        (isWsOrEol(s.charCodeAt(p + 1)) || p + 1 >= this.n)
      ) {
        throw this.bail('not a key', p);
      }
      const end = this.scanPlainLine(p, false);
      key = this.text(p, end);
    }
    const q = this.pos;
    if (s.charCodeAt(q) !== 58 /* : */) throw this.bail('mapping entry without a colon', q);
    if (!isWsOrEol(s.charCodeAt(q + 1)) && q + 1 < this.n) throw this.bail('no space after :', q);
    return key;
  }

  /** A block sequence whose first `-` is at `pos`, in column `si`. */
  private parseBlockSequence(si: number): unknown[] {
    this.enter(this.pos);
    const s = this.s;
    // Items collect on a shared stack; the result is an exact-size copy (no growth slack).
    const base = this.top;
    for (;;) {
      // `pos` is on a `-` followed by white space or the end.
      let p = this.pos + 1;
      let c = s.charCodeAt(p);
      while (c === 32) c = s.charCodeAt(++p);
      if (c === 9) throw this.bail('tab after -', p);
      this.pos = p;
      if (c === 10 || c === 13 || c === 35 || p >= this.n) {
        this.finishLine('');
        if (this.indent > si) {
          this.push(this.parseBlockNode(si, true));
        } else {
          this.push(null);
          const q = this.pos;
          // js-yaml keeps reading `- ` items at a smaller indentation after an empty item.
          if (this.indent >= 0 && this.indent < si && s.charCodeAt(q) === 45) {
            throw this.bail('dedented item after an empty item', q);
          }
        }
      } else {
        this.push(this.parseBlockNode(si, true));
      }
      const ind = this.indent;
      if (ind < si) break;
      if (ind > si) throw this.bail('bad indentation of a sequence entry');
      const q = this.pos;
      if (s.charCodeAt(q) !== 45 || !(isWsOrEol(s.charCodeAt(q + 1)) || q + 1 >= this.n)) break;
    }
    this.depth--;
    const seq = this.items.slice(base, this.top);
    this.top = base;
    return seq;
  }

  // ---------------------------------------------------------------------------------------
  // Plain scalars

  /**
   * Scan the rest of one line of a plain scalar starting at `p`. Stops at `: ` (`:` + white
   * space / end, or + flow indicator in flow context), at ` #`, at a line break, and in flow
   * context at `,[]{}`. Sets `pos` to the stopping char; returns the end of the content
   * (trailing white space excluded).
   */
  private scanPlainLine(p: number, flow: boolean): number {
    const s = this.s;
    let end = p;
    for (;;) {
      const c = s.charCodeAt(p);
      if (WORD[c] === 1) {
        end = ++p;
        continue;
      }
      if (c >= 128) {
        // js-yaml rejects C1 controls (but NEL), U+FFFE/U+FFFF and lone surrogates here.
        if (c <= 0x9f) {
          if (c !== 0x85) throw this.bail('non-printable character', p);
        } else if (c >= 0xd800 && c <= 0xdfff) {
          const low = s.charCodeAt(p + 1);
          if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) throw this.bail('lone surrogate', p);
          p++;
        } else if (c >= 0xfffe) {
          throw this.bail('non-printable character', p);
        }
        end = ++p;
        continue;
      }
      if (c === 32 || c === 9) {
        p++;
        continue;
      }
      if (c === 58 /* : */) {
        const f = s.charCodeAt(p + 1);
        if (f === 32 || f === 10 || f === 13 || f === 9 || p + 1 >= this.n) break;
        if (flow && f < 128 && FLOW_IND[f] === 1) break;
        end = ++p;
        continue;
      }
      if (c === 35 /* # */) {
        const b = s.charCodeAt(p - 1);
        if (b === 32 || b === 9 || b === 10 || b === 13) break;
        end = ++p;
        continue;
      }
      if (c === 10 || c === 13 || p >= this.n) break;
      if (FLOW_IND[c] !== 1) throw this.bail('non-printable character', p); // C0 controls, DEL
      if (flow) break;
      end = ++p;
    }
    this.pos = p;
    return end;
  }

  /**
   * Continue a plain scalar whose first line is `start..end` (`pos` on its stopping char)
   * over following lines indented at least `minIndent`, folding line breaks as YAML does.
   * On return `pos` is where the scalar stopped.
   */
  private continuePlain(start: number, end: number, minIndent: number, flow: boolean): string {
    const s = this.s;
    let p = this.pos;
    let c = s.charCodeAt(p);
    if (c !== 10 && c !== 13) return this.text(start, end);
    let out: string | undefined;
    let segStart = start;
    let segEnd = end;
    for (;;) {
      // `p` is on a line break ending a line of the scalar; look at the next content line.
      let breaks = 0;
      let q = p;
      let ls = q;
      let ind = 0;
      for (;;) {
        c = s.charCodeAt(q);
        if (c === 13) q += s.charCodeAt(q + 1) === 10 ? 2 : 1;
        else if (c === 10) q++;
        else break;
        breaks++;
        ls = q;
        c = s.charCodeAt(q);
        while (c === 32) c = s.charCodeAt(++q);
        ind = q - ls;
        while (c === 32 || c === 9) c = s.charCodeAt(++q);
      }
      if (q >= this.n || ind < minIndent) {
        // The scalar ends on its last line. In block context, when the next line is content
        // (not a comment, no tab in its indentation), land on it: the caller need not scan it.
        if (!flow) {
          if (q >= this.n) {
            this.pos = this.n;
            this.indent = -1;
            this.landed = true;
          } else if (c !== 35 && q - ls === ind) {
            this.pos = q;
            this.lineStart = ls;
            this.indent = ind;
            this.landed = true;
          }
        }
        break;
      }
      if (q - ls !== ind) throw this.bail('tab in the indentation of a continuation line', q);
      if (ind === 0 && this.markerAt(q) !== 0) {
        // Only a top-level scalar continues at column 0; a marker ends it (and the document).
        if (flow) throw this.bail('document marker inside a flow collection', q);
        this.lineStart = ls;
        this.pos = q;
        this.indent = 0;
        this.landed = true;
        break;
      }
      // What ends a scalar at the start of a line ends it before this line.
      if (c === 35 /* # */) {
        this.lineStart = ls;
        this.pos = q;
        break;
      }
      if (c === 58 /* : */) {
        const f = s.charCodeAt(q + 1);
        if (isWsOrEol(f) || q + 1 >= this.n || (flow && f < 128 && FLOW_IND[f] === 1)) {
          this.lineStart = ls;
          this.pos = q;
          break;
        }
      }
      if (flow && c < 128 && FLOW_IND[c] === 1) {
        this.lineStart = ls;
        this.pos = q;
        break;
      }
      // Fold: one break is a space, n breaks are n-1 newlines.
      out =
        (out ?? '') + s.slice(segStart, segEnd) + (breaks === 1 ? ' ' : '\n'.repeat(breaks - 1));
      this.lineStart = ls;
      segStart = q;
      segEnd = this.scanPlainLine(q, flow);
      p = this.pos;
      c = s.charCodeAt(p);
      if (c !== 10 && c !== 13) return out + s.slice(segStart, segEnd);
    }
    return (out ?? '') + s.slice(segStart, segEnd);
  }

  // ---------------------------------------------------------------------------------------
  // Quoted scalars

  /** `pos` on the opening `"`; leaves `pos` after the closing one. */
  private readDoubleQuoted(): string {
    const s = this.s;
    const start = this.pos + 1;
    let p = start;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 34) {
        this.pos = p + 1;
        return this.text(start, p);
      }
      if (c === 92 || c < 32 || p >= this.n) break;
      p++;
    }
    return this.readDoubleQuotedSlow(start);
  }

  private readDoubleQuotedSlow(start: number): string {
    const s = this.s;
    let out = '';
    let p = start;
    let segStart = p;
    let segEnd = p;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 34 /* " */) {
        this.pos = p + 1;
        return out + s.slice(segStart, p);
      }
      if (c === 92 /* \ */) {
        out += s.slice(segStart, p);
        const e = s.charCodeAt(++p);
        if (e === 10 || e === 13) {
          p = this.skipFoldSpace(p).p; // an escaped line break joins the lines
        } else if (SIMPLE_ESCAPES[e] !== undefined) {
          out += SIMPLE_ESCAPES[e];
          p++;
        } else {
          const len = e === 0x78 ? 2 : e === 0x75 ? 4 : e === 0x55 ? 8 : 0;
          if (len === 0) throw this.bail('unknown escape sequence', p);
          let code = 0;
          for (let i = 0; i < len; i++) {
            const h = hexValue(s.charCodeAt(++p));
            if (h < 0) throw this.bail('bad hex escape', p);
            code = code * 16 + h;
          }
          if (code > 0x10ffff) throw this.bail('escape beyond U+10FFFF', p);
          out += String.fromCodePoint(code);
          p++;
        }
        segStart = segEnd = p;
        continue;
      }
      if (c === 10 || c === 13) {
        out += s.slice(segStart, segEnd);
        const r = this.skipFoldSpace(p);
        out += r.breaks === 1 ? ' ' : '\n'.repeat(r.breaks - 1);
        p = segStart = segEnd = r.p;
        continue;
      }
      if (p >= this.n) throw this.bail(UNTERMINATED_QUOTE, start - 1);
      if (c < 32 && c !== 9) throw this.bail('control character in a quoted scalar', p);
      p++;
      if (c !== 32 && c !== 9) segEnd = p;
    }
  }

  /** `pos` on the opening `'`; leaves `pos` after the closing one. */
  private readSingleQuoted(): string {
    const s = this.s;
    const start = this.pos + 1;
    let p = start;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 39) {
        if (s.charCodeAt(p + 1) === 39) break;
        this.pos = p + 1;
        return this.text(start, p);
      }
      if (c < 32 || p >= this.n) break;
      p++;
    }
    return this.readSingleQuotedSlow(start);
  }

  private readSingleQuotedSlow(start: number): string {
    const s = this.s;
    let out = '';
    let p = start;
    let segStart = p;
    let segEnd = p;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 39 /* ' */) {
        out += s.slice(segStart, p);
        p++;
        if (s.charCodeAt(p) !== 39) {
          this.pos = p;
          return out;
        }
        segStart = p; // the second quote of '' starts the next segment
        p++;
        segEnd = p;
        continue;
      }
      if (c === 10 || c === 13) {
        out += s.slice(segStart, segEnd);
        const r = this.skipFoldSpace(p);
        out += r.breaks === 1 ? ' ' : '\n'.repeat(r.breaks - 1);
        p = segStart = segEnd = r.p;
        continue;
      }
      if (p >= this.n) throw this.bail(UNTERMINATED_QUOTE, start - 1);
      if (c < 32 && c !== 9) throw this.bail('control character in a quoted scalar', p);
      p++;
      if (c !== 32 && c !== 9) segEnd = p;
    }
  }

  /**
   * Inside a quoted scalar, from a line break at `p`: skip line breaks and white space;
   * returns the number of breaks and the next content offset. A document marker at the
   * start of a line inside a quoted scalar is an error in js-yaml: bail.
   */
  private skipFoldSpace(p: number): { breaks: number; p: number } {
    const s = this.s;
    let breaks = 0;
    for (;;) {
      let c = s.charCodeAt(p);
      while (c === 32 || c === 9) c = s.charCodeAt(++p);
      if (c === 13) p += s.charCodeAt(p + 1) === 10 ? 2 : 1;
      else if (c === 10) p++;
      else break;
      breaks++;
      this.lineStart = p;
    }
    if (p === this.lineStart && this.markerAt(p) !== 0)
      throw this.bail('document marker in a quoted scalar', p);
    return { breaks, p };
  }

  // ---------------------------------------------------------------------------------------
  // Flow collections

  /**
   * `[...]` or `{...}` at `pos`; `flowIndent` is the least indentation of continuation lines
   * of plain scalars inside. Leaves `pos` after the closing bracket.
   */
  private parseFlowCollection(flowIndent: number): unknown {
    const s = this.s;
    this.enter(this.pos);
    this.flowOpen.push(this.pos);
    const isMap = s.charCodeAt(this.pos) === 123;
    const terminator = isMap ? 125 : 93;
    const map: YamlMap | undefined = isMap ? {} : undefined;
    // Keys of this mapping so far, for the duplicate check (as in parseBlockMapping).
    const keys = isMap
      ? (this.keyScratch[this.depth] ?? (this.keyScratch[this.depth] = new Array<string>(8)))
      : undefined;
    let count = 0;
    const base = this.top;
    this.pos++;
    let readNext = true;
    for (;;) {
      this.skipFlowSpace();
      let p = this.pos;
      let c = s.charCodeAt(p);
      if (c === terminator) {
        this.pos = p + 1;
        this.depth--;
        this.flowOpen.pop();
        if (map !== undefined) return map;
        const seq = this.items.slice(base, this.top);
        this.top = base;
        return seq;
      }
      if (!readNext) throw this.bail('missed comma between flow collection entries', p);
      if (c === 44 /* , */) throw this.bail('empty flow entry', p);
      if (c === 63 /* ? */ && (isWsOrEol(s.charCodeAt(p + 1)) || p + 1 >= this.n)) {
        throw this.bail('explicit key in a flow collection', p);
      }
      const keyLine = this.lineStart;
      const key = this.parseFlowNode(flowIndent);
      this.skipFlowSpace();
      p = this.pos;
      c = s.charCodeAt(p);
      if (c === 58 /* : */ && this.lineStart === keyLine) {
        if (typeof key !== 'string') throw this.bail('collection as a key', p);
        this.pos = p + 1;
        this.skipFlowSpace();
        c = s.charCodeAt(this.pos);
        if (map !== undefined) {
          const value = c === 44 || c === 93 || c === 125 ? null : this.parseFlowNode(flowIndent);
          this.checkNewKey(map, keys!, count++, key);
          storeFlowPair(map, key, value);
        } else {
          // `[k: v]` holds a one-pair mapping: one more level of nesting.
          this.enter(p);
          const value = c === 44 || c === 93 || c === 125 ? null : this.parseFlowNode(flowIndent);
          this.depth--;
          this.push(storeFlowPair({}, key, value));
        }
        this.skipFlowSpace();
        c = s.charCodeAt(this.pos);
      } else if (map !== undefined) {
        if (typeof key !== 'string') throw this.bail('collection as a key', p);
        this.checkNewKey(map, keys!, count++, key);
        storeFlowPair(map, key, null);
      } else {
        this.push(key);
      }
      if (c === 44 /* , */) {
        readNext = true;
        this.pos++;
      } else {
        readNext = false;
      }
    }
  }

  /** A node inside a flow collection: a nested collection, a quoted or a plain scalar. */
  private parseFlowNode(flowIndent: number): unknown {
    const s = this.s;
    const p = this.pos;
    const c = s.charCodeAt(p);
    if (c === 91 || c === 123) return this.parseFlowCollection(flowIndent);
    if (c === 34) return this.readDoubleQuoted();
    if (c === 39) return this.readSingleQuoted();
    if (p >= this.n || (c < 128 && NOT_PLAIN_START[c] === 1))
      throw this.bail('no flow node here', p);
    if (c === 63 || c === 58 || c === 45) {
      const f = s.charCodeAt(p + 1);
      if (isWsOrEol(f) || p + 1 >= this.n || (f < 128 && FLOW_IND[f] === 1)) {
        throw this.bail('no flow node here', p);
      }
    }
    const end = this.scanPlainLine(p, true);
    return this.continuePlain(p, end, flowIndent, true);
  }

  /** White space, line breaks and comments between flow tokens. */
  private skipFlowSpace(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      let c = s.charCodeAt(p);
      while (c === 32 || c === 9) c = s.charCodeAt(++p);
      if (c === 35 /* # */) {
        do c = s.charCodeAt(++p);
        while (c !== 10 && c !== 13 && p < this.n);
      }
      if (c === 13) p += s.charCodeAt(p + 1) === 10 ? 2 : 1;
      else if (c === 10) p++;
      else break;
      this.lineStart = p;
      if (this.markerAt(p) !== 0) throw this.bail('document marker inside a flow collection', p);
    }
    if (p >= this.n) {
      throw this.bail(UNTERMINATED_FLOW, this.flowOpen[this.flowOpen.length - 1] ?? p);
    }
    this.pos = p;
  }

  /**
   * Bail on a duplicate key: `keys[0..count)` are the mapping's first keys; compared
   * directly while the mapping is small (cheaper than a keyed lookup on objects of many
   * shapes), then the object is asked. Records `key` as the count-th key.
   */
  private checkNewKey(map: YamlMap, keys: string[], count: number, key: string): void {
    if (count < 8) {
      for (let i = 0; i < count; i++) if (keys[i] === key) throw this.bail('duplicate key');
      keys[count] = key;
    } else if (map[key] !== undefined && Object.hasOwn(map, key)) {
      throw this.bail('duplicate key');
    }
  }
}

/** Store one pair of a flow mapping (duplicates are checked by the caller). */
function storeFlowPair(map: YamlMap, key: string, value: unknown): YamlMap {
  if (key === '__proto__') {
    Object.defineProperty(map, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    map[key] = value;
  }
  return map;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}
