// keepalived's include patterns on disk: relative to the including file's directory, csh-style braces
// ({a,b}) and glob(3) wildcards (*, ?, [...]; a leading dot is matched only by a leading dot), each brace
// alternative's matches sorted, as glob(3) with GLOB_BRACE lists them. Node 20 has no fs.glob.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { KaIncludedFile } from './parse';

/**
 * The files an include pattern names and their texts.
 *
 * @param pattern - as written after `include`
 * @param from - the including file
 * @throws when a matched file cannot be read (the import notes the include as not followed)
 */
export function readIncludeFromDisk(pattern: string, from: string): KaIncludedFile[] {
  const full = isAbsolute(pattern) ? pattern : join(dirname(from), pattern);
  const files: string[] = [];
  for (const alternative of expandBraces(full)) {
    for (const f of matchPath(alternative).sort()) if (!files.includes(f)) files.push(f);
  }
  return files.map((file) => {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new Error(`${file}: cannot read: ${e.code ?? e.message}`);
    }
  });
}

/** csh-style brace expansion: `a{b,c{d,e}}f` is `abf`, `acdf`, `acef`; an unmatched brace is literal. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      close = i;
      break;
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close < 0) return [pattern];
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const bounds = [open, ...commas, close];
  const parts = bounds.slice(0, -1).map((b, k) => pattern.slice(b + 1, bounds[k + 1]));
  return parts.flatMap((p) => expandBraces(head + p + tail));
}

const MAGIC = /[*?[]/;

/** The regular files a pattern without braces matches. */
function matchPath(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  let paths = [absolute ? '/' : ''];
  for (const segment of pattern.split('/').filter((s) => s !== '')) {
    const next: string[] = [];
    for (const base of paths) {
      if (!MAGIC.test(segment)) {
        next.push(base === '' ? segment : join(base, segment));
        continue;
      }
      const re = segmentRegExp(segment);
      let names: string[];
      try {
        names = readdirSync(base === '' ? '.' : base);
      } catch {
        continue;
      }
      for (const n of names.sort()) {
        if (n.startsWith('.') && !segment.startsWith('.')) continue;
        if (re.test(n)) next.push(base === '' ? n : join(base, n));
      }
    }
    paths = next;
  }
  return paths.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/** One path segment of a glob as a regular expression: `*`, `?`, `[abc]`, `[!abc]`, `[a-z]`. */
function segmentRegExp(segment: string): RegExp {
  let re = '^';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = segment.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}
