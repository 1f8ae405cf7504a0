// Splitting a command line into program and arguments as keepalived splits a script string: the one
// implementation behind the notify and track script settings and the keepalived.conf import.
import { err, ok, type Result } from '@proxyha/common';

const WHITE_SPACE = ' \t\f\n\r\v';
const ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * Splits a command line into program and arguments as keepalived splits a script string: words are
 * separated by white space; `"` and `'` quote (also in the middle of a word: `a" b"c` is `a bc`); a
 * backslash escapes, also inside quotes (`\"`, `\\`, `\n`, `\t`, `\xHH`, `\NNN` octal, `\cX`, ...; with
 * `escapes: false` the backslash and the character after it are kept as written). keepalived's
 * `alloc_strvec_quoted_escaped_common()`; the config's commands and the keepalived.conf import use it.
 *
 * @param line - the command line
 * @param options - `escapes` (default true): translate backslash escapes
 * @returns the words, or what is wrong (an unmatched quote, a trailing backslash, no word at all)
 */
export function splitCommandLine(
  line: string,
  options: { readonly escapes?: boolean } = {},
): Result<string[], string> {
  const escapes = options.escapes ?? true;
  const words: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && WHITE_SPACE.includes(line[i] as string)) i++;
    if (i >= n) break;
    let word = '';
    let quote = '';
    while (i < n) {
      const c = line[i] as string;
      if (c === '\\') {
        if (i + 1 >= n) return err(`missing escape character after the last "\\" in ${JSON.stringify(line)}`);
        if (!escapes) {
          word += `\\${line[i + 1]}`;
          i += 2;
          continue;
        }
        const [ch, used] = escapedChar(line, i + 1);
        word += ch;
        i += 1 + used;
      } else if (quote) {
        if (c === quote) quote = '';
        else word += c;
        i++;
      } else if (c === '"' || c === "'") {
        quote = c;
        i++;
      } else if (WHITE_SPACE.includes(c)) break;
      else {
        word += c;
        i++;
      }
    }
    if (quote) return err(`missing terminating ${quote} in ${JSON.stringify(line)}`);
    if (word.includes('\0'))
      return err(`a NUL character cannot be passed to a program: ${JSON.stringify(line)}`);
    words.push(word);
  }
  if (words.length === 0) return err('an empty command');
  return ok(words);
}

/** The character an escape at `line[i]` (after the backslash) stands for, and how many characters it used. */
function escapedChar(line: string, i: number): [string, number] {
  const c = line[i] as string;
  const hex = /^x([0-9A-Fa-f]{1,2})/.exec(line.slice(i, i + 3));
  if (hex) return [String.fromCharCode(Number.parseInt(hex[1] as string, 16)), 1 + (hex[1] as string).length];
  if (c === 'c' && i + 1 < line.length) return [String.fromCharCode(line.charCodeAt(i + 1) & 0x1f), 2];
  const oct = /^[0-7]{1,3}/.exec(line.slice(i, i + 3));
  if (oct) return [String.fromCharCode(Number.parseInt(oct[0], 8) & 0xff), oct[0].length];
  return [ESCAPES[c] ?? c, 1];
}
