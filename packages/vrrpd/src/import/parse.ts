// keepalived.conf read as keepalived 2.2.7 reads it (lib/parser.c): `#` and `!` comments, double-quoted
// strings, `@id` / `@^id` conditional lines, `$NAME=VALUE` definitions (also multi-line) with `$NAME` /
// `${NAME}` substitution, `include` files, and blocks split at every brace outside quotes. The result is a
// tree of statements, each with the file and line it came from.

import { dirname } from 'node:path';
import { splitCommandLine } from '../config/command-line';
import { VrrpdError } from '../errors';

/** Where a statement or note comes from. */
export interface KaLocation {
  /** The file, as named to the import or returned by the include reader. */
  readonly file: string;
  /** 1-based line number in that file. */
  readonly line: number;
}

/** One keepalived statement: its words, and its `{ }` block when it has one. */
export interface KaStatement extends KaLocation {
  /** The words as keepalived's parser splits them (double quotes group, and are removed). */
  readonly words: readonly string[];
  /** The statement's text after comments, conditions and substitution (for re-splitting scripts). */
  readonly raw: string;
  /** The statements inside its `{ }`, when it opens a block. */
  block?: KaStatement[];
}

/** Something read but not taken over, with where it was. */
export interface KaNote extends KaLocation {
  /** The setting, as written. */
  readonly setting: string;
  /** Why it was not taken over, or how it differs. */
  readonly reason: string;
}

/** A file an include line names, with its text. */
export interface KaIncludedFile {
  /** Its name (shown in notes and errors; the base of its own relative includes). */
  readonly file: string;
  /** Its text. */
  readonly text: string;
}

/** Resolves an include pattern (relative to the including file, with wildcards) to files and their texts. */
export type KaIncludeReader = (pattern: string, from: string) => readonly KaIncludedFile[];

/** What the reader needs. */
export interface KaParseOptions {
  /** Name of the main file. */
  readonly file: string;
  /** keepalived's config id (`-i`): which `@id` lines apply. */
  readonly configId?: string | undefined;
  /** How to read included files; without it, include lines are reported and skipped. */
  readonly readInclude?: KaIncludeReader | undefined;
}

/** The parsed file: its statements, and what the reader itself skipped. */
export interface KaParseResult {
  /** Top-level statements in file order (includes inlined). */
  readonly statements: KaStatement[];
  /** Skipped conditional lines, unsupported constructs, includes not followed. */
  readonly notes: KaNote[];
  /** The files read, in the order they were first read (the main file first). */
  readonly files: string[];
}

const MAX_INCLUDE_DEPTH = 32;
const MAX_SUBSTITUTIONS = 1000;
/** Multi-line expansions in one file: more means a definition that expands itself without end. */
const MAX_EXPANSIONS = 100_000;

/** Throws the syntax error of the import: `file:line: problem`. */
export function syntaxError(at: KaLocation, problem: string): never {
  throw new VrrpdError('VRRPD_KEEPALIVED_SYNTAX', `${at.file}:${at.line}: ${problem}`, {
    details: { file: at.file, line: at.line, problem },
  });
}

/**
 * keepalived's `decomment()` (2.2.7): strips leading blanks, a comment from the first `#` or `!` outside
 * double quotes (`\#` and `\!` outside quotes stand for the character itself), trailing blanks, and a
 * trailing `\`, which continues a multi-line definition.
 */
export function decomment(input: string): { text: string; cont: boolean; unterminatedQuote: boolean } {
  const s = input.replace(/^[ \t]+/, '');
  let out = '';
  let quote = false;
  let cont = false;
  let skipAt = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"') {
      if (skipAt < 0) quote = !quote;
      out += c;
    } else if (c === '\\') {
      if (i + 1 >= s.length) {
        cont = true;
        break;
      }
      const n = s[i + 1] as string;
      out += !quote && (n === '#' || n === '!') ? n : c + n;
      i++;
    } else {
      if (!quote && skipAt < 0 && (c === '!' || c === '#')) skipAt = out.length;
      out += c;
    }
  }
  if (skipAt >= 0) out = out.slice(0, skipAt);
  return { text: out.replace(/[ \t]+$/, ''), cont, unterminatedQuote: quote };
}

const BLANK = /[ \t\f\n\r\v]/;

/**
 * keepalived's `alloc_strvec_r()`: words separated by blanks; a word starting with `"` runs to the next
 * `"` and loses its quotes (no escapes). `undefined` when a quote is not closed.
 */
export function splitWords(text: string): string[] | undefined {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && BLANK.test(text[i] as string)) i++;
    if (i >= text.length) break;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return undefined;
      words.push(text.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !BLANK.test(text[j] as string) && text[j] !== '"') j++;
      words.push(text.slice(i, j));
      i = j;
    }
  }
  return words;
}

/**
 * keepalived's `alloc_strvec_quoted_escaped_common()`, which splits scripts into their arguments: words
 * separated by blanks, where `"..."` and `'...'` keep blanks and are joined to the word around them, and
 * `\` escapes the next character (with `escapes`: `\n`, `\t`, `\xHH`, `\NNN` octal... as in C; without:
 * kept as written). `undefined` for an unterminated quote or a `\` at the end.
 */
export function splitQuoted(src: string, escapes: boolean): string[] | undefined {
  if (!/[^ \t\f\n\r\v]/.test(src)) return [];
  const words = splitCommandLine(src, { escapes });
  return words.ok ? words.value : undefined;
}

interface Definition {
  /** Its lines (one for an ordinary definition). */
  lines: string[];
  multiline: boolean;
}

type Source =
  | { kind: 'file'; file: string; lines: string[]; next: number }
  | { kind: 'expansion'; file: string; at: KaLocation; lines: string[]; next: number };

/** Builds the statement tree from statements and braces, checking that braces balance. */
class TreeBuilder {
  readonly root: KaStatement[] = [];
  readonly #open: { list: KaStatement[]; opener?: KaStatement }[] = [{ list: this.root }];
  #last: KaStatement | undefined;

  statement(words: string[], raw: string, at: KaLocation): void {
    const s: KaStatement = { words, raw, file: at.file, line: at.line };
    (this.#open.at(-1) as { list: KaStatement[] }).list.push(s);
    this.#last = s;
  }

  open(at: KaLocation): void {
    const owner = this.#last;
    if (!owner) syntaxError(at, "'{' without a keyword before it");
    owner.block = [];
    this.#open.push({ list: owner.block, opener: owner });
    this.#last = undefined;
  }

  close(at: KaLocation): void {
    if (this.#open.length === 1) syntaxError(at, "'}' closes no block (one '}' too many)");
    this.#open.pop();
    this.#last = undefined;
  }

  end(): void {
    const top = this.#open.at(-1);
    if (top?.opener) {
      const o = top.opener;
      syntaxError(o, `the block of '${o.words.join(' ')}' is never closed (a '}' is missing)`);
    }
  }
}

/**
 * Reads a keepalived configuration into a statement tree, as keepalived's parser reads it.
 *
 * @throws {@link VrrpdError} `VRRPD_KEEPALIVED_SYNTAX` naming file, line and problem
 */
export function parseKeepalived(text: string, options: KaParseOptions): KaParseResult {
  return new Reader(options).read(text);
}

class Reader {
  readonly #o: KaParseOptions;
  readonly #stack: Source[] = [];
  readonly #defs = new Map<string, Definition>();
  readonly #notes: KaNote[] = [];
  readonly #files: string[] = [];
  readonly #tree = new TreeBuilder();
  /** A multi-line definition being collected. */
  #collecting: Definition | undefined;
  #expansions = 0;

  constructor(options: KaParseOptions) {
    this.#o = options;
  }

  read(text: string): KaParseResult {
    this.#files.push(this.#o.file);
    this.#pushFile(this.#o.file, text, { file: this.#o.file, line: 0 });
    for (;;) {
      const src = this.#stack.at(-1);
      if (!src) break;
      if (src.next >= src.lines.length) {
        this.#stack.pop();
        continue;
      }
      const physical = src.lines[src.next++] as string;
      if (src.kind === 'expansion') {
        this.#process(physical, src.at, src.file);
        continue;
      }
      const at = { file: src.file, line: src.next };
      const line = physical.replace(/\r+$/, '');
      if (line === '') {
        this.#endDefinition();
        continue;
      }
      const d = decomment(line);
      if (d.unterminatedQuote) syntaxError(at, `unterminated quote in '${line.trim()}'`);
      if (d.text === '' && !d.cont) continue;
      if (this.#collecting) {
        this.#collect(d.text, d.cont);
        continue;
      }
      this.#process(d.cont ? `${d.text}\\` : d.text, at, src.file);
    }
    this.#endDefinition();
    this.#tree.end();
    return { statements: this.#tree.root, notes: this.#notes, files: this.#files };
  }

  #note(at: KaLocation, setting: string, reason: string) {
    this.#notes.push({ file: at.file, line: at.line, setting: setting.replace(/\s+/g, ' '), reason });
  }

  #pushFile(file: string, text: string, at: KaLocation) {
    // the files being read (not yet started ones are later siblings of the same include)
    const files = this.#stack.filter((s) => s.kind === 'file' && s.next > 0);
    if (files.some((s) => s.file === file)) syntaxError(at, `include loop: ${file} includes itself`);
    if (files.length >= MAX_INCLUDE_DEPTH)
      syntaxError(at, `includes nested deeper than ${MAX_INCLUDE_DEPTH}`);
    this.#stack.push({ kind: 'file', file, lines: text.split('\n'), next: 0 });
  }

  /** One more line of a multi-line definition (keepalived's multiline_param_def). */
  #collect(text: string, cont: boolean) {
    const def = this.#collecting as Definition;
    if (text !== '') def.lines.push(text);
    if (!cont) this.#endDefinition();
  }

  #endDefinition() {
    const def = this.#collecting;
    if (!def) return;
    this.#collecting = undefined;
    if (def.lines.length === 0) def.multiline = false;
  }

  /** A logical line: conditions, definitions, substitution, includes, then statements and braces. */
  #process(input: string, at: KaLocation, file: string) {
    let text = input;
    for (let round = 0; ; round++) {
      if (round > 20) syntaxError(at, `parameter substitution does not end in '${input}'`);
      if (text.startsWith('@')) {
        const negate = text[1] === '^';
        const start = negate ? 2 : 1;
        const blank = /[ \t]/.exec(text.slice(start));
        if (!blank) return;
        const id = text.slice(start, start + blank.index);
        const applies = (this.#o.configId !== undefined && id === this.#o.configId) !== negate;
        if (!applies) {
          const which =
            this.#o.configId === undefined
              ? 'no config id was given'
              : `the config id is "${this.#o.configId}"`;
          this.#note(
            at,
            text,
            `skipped: only for config id ${negate ? 'other than ' : ''}"${id}", and ${which} (keepalived -i; --config-id here)`,
          );
          return;
        }
        text = text.slice(start + blank.index).replace(/^[ \t]+/, '');
      }
      const def = /^\$([A-Za-z_][A-Za-z0-9_]*)=[ \t]*(.*)$/s.exec(text);
      if (def) {
        this.#define(def[1] as string, def[2] as string);
        return;
      }
      if (text.startsWith('~SEQ') || text.startsWith('~LST')) {
        this.#note(at, text, 'not imported: ~SEQ and ~LST blocks are not supported (expand them by hand)');
        return;
      }
      if (text.startsWith('~') || !text.includes('$')) break;
      const r = this.#substitute(text, at, file);
      if (!r.changed) break;
      if (r.rest.length > 0) {
        if (++this.#expansions > MAX_EXPANSIONS)
          syntaxError(at, `parameter substitution does not end in '${input}'`);
        this.#stack.push({ kind: 'expansion', file, at, lines: r.rest, next: 0 });
      }
      const d = decomment(r.text);
      text = d.cont ? `${d.text}\\` : d.text;
      if (!text.startsWith('@') && !text.includes('$')) break;
    }
    if (text === '') return;
    const include = /^include([rmwba])?[ \t]+(.*)$/.exec(text);
    if (include) {
      this.#include((include[2] as string).trim(), at, text);
      return;
    }
    this.#statements(text, at);
  }

  #define(name: string, value: string) {
    const multiline = value.endsWith('\\');
    const first = multiline ? value.slice(0, -1).replace(/[ \t]+$/, '') : value;
    const def: Definition = { lines: first === '' && multiline ? [] : [first], multiline };
    this.#defs.set(name, def);
    if (multiline) this.#collecting = def;
  }

  /** keepalived's replace_param(): `$NAME` (followed by a blank, `,`, `)` or the end) and `${NAME}`. */
  #substitute(
    text: string,
    at: KaLocation,
    file: string,
  ): { text: string; changed: boolean; rest: string[] } {
    let out = text;
    let rest: string[] = [];
    let changed = false;
    let count = 0;
    let i = out.indexOf('$');
    while (i >= 0 && i + 1 < out.length) {
      const ref = this.#reference(out, i);
      const value = ref && this.#value(ref.name, ref.params, ref.end === out.length, at, file, out);
      if (!ref || value === undefined) {
        i = out.indexOf('$', i + 1);
        continue;
      }
      if (++count > MAX_SUBSTITUTIONS) syntaxError(at, `parameter substitution does not end in '${text}'`);
      changed = true;
      const [first = '', ...more] = value;
      out = out.slice(0, i) + first + out.slice(ref.end);
      if (more.length > 0) rest = [...more, ...rest];
      if (first.trimStart().startsWith('~')) break;
      i = out.indexOf('$', i);
    }
    return { text: out, changed, rest };
  }

  /** The reference at `text[i]` (a `$`), if it is one. */
  #reference(text: string, i: number): { name: string; params: string; end: number } | undefined {
    if (text[i + 1] === '{') {
      const m = /^\{([A-Za-z_][A-Za-z0-9_]*)((?:[ \t]+[A-Za-z0-9_]+)*)\}/.exec(text.slice(i + 1));
      return m
        ? { name: m[1] as string, params: (m[2] as string).trim(), end: i + 1 + m[0].length }
        : undefined;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (!m) return undefined;
    const end = i + 1 + m[0].length;
    if (end < text.length && !/[ \t,)]/.test(text[end] as string)) return undefined;
    return { name: m[0], params: '', end };
  }

  /** The lines a reference stands for; undefined leaves it as written (as keepalived does). */
  #value(
    name: string,
    params: string,
    atEnd: boolean,
    at: KaLocation,
    file: string,
    text: string,
  ): string[] | undefined {
    const def = this.#defs.get(name);
    if (def) {
      if (params !== '') return undefined;
      if (def.multiline && !atEnd) return undefined;
      return def.lines.length ? def.lines : [''];
    }
    switch (name) {
      case '_PWD':
        return params === '' ? [dirname(file)] : undefined;
      case '_INSTANCE':
        if (this.#o.configId === undefined) {
          this.#note(at, text, `\${_INSTANCE} left as written: no config id was given (--config-id)`);
          return undefined;
        }
        return [this.#o.configId];
      case '_HASH':
        return ['#'];
      case '_BANG':
        return ['!'];
      case '_RANDOM':
      case '_ENV':
        this.#note(at, text, `\${${name}} is not supported by the import: left as written`);
        return undefined;
      default:
        return undefined;
    }
  }

  #include(pattern: string, at: KaLocation, text: string) {
    const reader = this.#o.readInclude;
    if (!reader) {
      this.#note(at, text, 'include not followed: the import was given no way to read other files');
      return;
    }
    let files: readonly KaIncludedFile[];
    try {
      files = reader(pattern, at.file);
    } catch (e) {
      this.#note(at, text, `include not followed: ${(e as Error).message}`);
      return;
    }
    if (files.length === 0) {
      this.#note(at, text, 'include matched no file');
      return;
    }
    const unique = files.filter((f, i) => files.findIndex((o) => o.file === f.file) === i);
    for (const f of unique) if (!this.#files.includes(f.file)) this.#files.push(f.file);
    // the stack reads its top first: push the files in reverse so that they are read in order
    for (const f of [...unique].reverse()) this.#pushFile(f.file, f.text, at);
  }

  /** Splits a line at every brace outside double quotes (keepalived reads each as its own line). */
  #statements(text: string, at: KaLocation) {
    let piece = '';
    let quote = false;
    const flush = () => {
      const raw = piece.trim();
      piece = '';
      if (raw === '') return;
      const words = splitWords(raw);
      if (!words) syntaxError(at, `unterminated quote in '${raw}'`);
      if (words.length > 0) this.#tree.statement(words, raw, at);
    };
    for (const c of text) {
      if (c === '"') quote = !quote;
      if (!quote && (c === '{' || c === '}')) {
        flush();
        if (c === '{') this.#tree.open(at);
        else this.#tree.close(at);
      } else piece += c;
    }
    flush();
  }
}
