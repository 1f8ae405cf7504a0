// The keepalived.conf import: read (parse.ts), map (map.ts), validate with the daemon's own validator,
// render YAML with comments that name where each instance came from.
import { readFileSync } from 'node:fs';
import { CommonError, type ConfigIssue, formatPath } from '@proxyha/common';
import { Document, isMap, isSeq, type YAMLMap, type YAMLSeq } from 'yaml';
import { parseVrrpDaemonConfig, type VrrpDaemonConfig } from '../config/config';
import { VrrpdError } from '../errors';
import { readIncludeFromDisk } from './glob';
import { mapKeepalived, type OptionalKey } from './map';
import { type KaNote, parseKeepalived } from './parse';

/** One keepalived setting the import did not take over, or took over with a difference. */
export interface KeepalivedImportNote {
  /** The file it is in (the imported file, or a file it includes). */
  readonly file: string;
  /** Its line number (1-based). */
  readonly line: number;
  /** The setting as written (its words; a block shown as `{ ... }`). */
  readonly setting: string;
  /** What happened to it and why: `no equivalent: ...`, `not imported: ...`, `imported with a difference: ...`. */
  readonly reason: string;
}

/** A file an `include` line names, with its text. */
export interface KeepalivedIncludedFile {
  /** Its name, as notes and errors show it; relative includes inside it are relative to its directory. */
  readonly file: string;
  /** Its text. */
  readonly text: string;
}

/**
 * Resolves the pattern of an `include` line (relative to the including file's directory, with glob
 * wildcards and braces) to the files it names, in order. Throwing makes the import note the include as
 * not followed.
 */
export type KeepalivedIncludeReader = (pattern: string, from: string) => readonly KeepalivedIncludedFile[];

/** Options of {@link importKeepalivedConfig}. */
export interface KeepalivedImportOptions {
  /** Name of the text's file, for notes and errors, and the base of relative includes. Default `keepalived.conf`. */
  readonly file?: string | undefined;
  /**
   * keepalived's config id (`keepalived -i ID`): `@ID` lines apply, `@^ID` lines do not. Default none: only
   * `@^...` lines apply (keepalived itself defaults to the host name's first part).
   */
  readonly configId?: string | undefined;
  /** Reads included files; without it, every include line is noted and skipped. */
  readonly readInclude?: KeepalivedIncludeReader | undefined;
}

/** Where a block of the keepalived.conf was declared. */
export interface KeepalivedBlockSource {
  /** The block's name (`VI_1`, `G1`). */
  readonly name: string;
  /** The file it is in (the imported file, or a file it includes). */
  readonly file: string;
  /** The line of its opening statement (1-based). */
  readonly line: number;
}

/** What {@link importKeepalivedConfig} returns. */
export interface KeepalivedImport {
  /** The proxyha-vrrpd configuration as YAML, with a header and a comment naming each instance's origin. */
  readonly yaml: string;
  /** The same configuration as a plain object (durations as strings), as the YAML encodes it. */
  readonly document: Readonly<Record<string, unknown>>;
  /** The validated configuration, or undefined when it does not validate (see `issues`). */
  readonly config: VrrpDaemonConfig | undefined;
  /** Why the document does not validate (no instance could be imported, for example); empty when it does. */
  readonly issues: readonly ConfigIssue[];
  /** Every keepalived setting not taken over or taken over with a difference, in file order. */
  readonly unmapped: readonly KeepalivedImportNote[];
  /**
   * Where each entry of `document.instances` (`vrrp_instance`) and `document.syncGroups`
   * (`vrrp_sync_group`) was declared, in the same order: for notes about them by a program that maps the
   * document further.
   */
  readonly sources: {
    /** One per entry of `document.instances`. */
    readonly instances: readonly KeepalivedBlockSource[];
    /** One per entry of `document.syncGroups`. */
    readonly syncGroups: readonly KeepalivedBlockSource[];
  };
}

/**
 * Converts a keepalived.conf (keepalived 2.2 syntax: blocks, comments, quotes, `@id` conditional lines,
 * `$NAME=` definitions with substitution, includes) into a proxyha-vrrpd configuration: `global_defs` (the
 * VRRP settings), `vrrp_instance`, `vrrp_script`, `track_file`, `vrrp_sync_group` and `garp_group`. Values
 * are computed as keepalived computes them (its defaults, strict-mode rules, sync-group and address-owner
 * tracking rules), so that the imported node is elected as the keepalived node would be. Every setting
 * without an equivalent is listed in `unmapped` with its line; keys the daemon's validator refuses (a
 * setting this version cannot run yet) are left out and listed too.
 *
 * @param text - the keepalived.conf text
 * @param options - its file name, config id and include reader
 * @throws {@link VrrpdError} `VRRPD_KEEPALIVED_SYNTAX` when the text cannot be read as keepalived reads it
 *   (`details`: `file`, `line`, `problem`)
 */
export function importKeepalivedConfig(
  text: string,
  options: KeepalivedImportOptions = {},
): KeepalivedImport {
  const file = options.file ?? 'keepalived.conf';
  const parsed = parseKeepalived(text, {
    file,
    configId: options.configId,
    readInclude: options.readInclude,
  });
  const mapped = mapKeepalived(parsed.statements);
  const notes: KaNote[] = [...parsed.notes, ...mapped.notes];
  const document = mapped.document;
  const { config, issues } = validate(document, [...mapped.optional], notes, file);
  const order = new Map(parsed.files.map((f, i) => [f, i]));
  const unmapped = notes
    .map((n, i) => ({ n, i }))
    .sort(
      (a, b) => (order.get(a.n.file) ?? 0) - (order.get(b.n.file) ?? 0) || a.n.line - b.n.line || a.i - b.i,
    )
    .map(({ n }) => ({ file: n.file, line: n.line, setting: n.setting, reason: n.reason }));
  const yaml = render(document, mapped.instanceSources, file, options.configId, unmapped.length);
  const source = (s: { file: string; line: number; words: readonly string[] }) => ({
    name: s.words[1] ?? '',
    file: s.file,
    line: s.line,
  });
  const sources = {
    instances: mapped.instanceSources.map(source),
    syncGroups: mapped.syncGroupSources.map(source),
  };
  return { yaml, document, config, issues, unmapped, sources };
}

/**
 * {@link importKeepalivedConfig} for a file on disk, following its includes (relative to each including
 * file, with `*`, `?`, `[...]` and `{a,b}` patterns, as keepalived's glob).
 *
 * @param file - the keepalived.conf path
 * @param options - the config id
 * @throws `COMMON_CONFIG_READ` when the file cannot be read; {@link VrrpdError} `VRRPD_KEEPALIVED_SYNTAX`
 */
export function importKeepalivedFile(
  file: string,
  options: Pick<KeepalivedImportOptions, 'configId'> = {},
): KeepalivedImport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new CommonError('COMMON_CONFIG_READ', `${file}: cannot read: ${e.code ?? e.message}`, {
      details: { file },
      cause: error,
    });
  }
  return importKeepalivedConfig(text, { file, configId: options.configId, readInclude: readIncludeFromDisk });
}

/**
 * The report of an import for an operator: one line per note, `# FILE:LINE: SETTING — REASON` (comment lines,
 * so that they can be kept next to the YAML), and a count.
 *
 * @param unmapped - {@link KeepalivedImport.unmapped}
 */
export function formatKeepalivedImportReport(unmapped: readonly KeepalivedImportNote[]): string {
  if (unmapped.length === 0) return '# every keepalived setting was imported\n';
  const lines = unmapped.map((n) => `# ${n.file}:${n.line}: ${n.setting} — ${n.reason}`);
  lines.push(`# ${unmapped.length} keepalived setting(s) above not imported, or imported with a difference`);
  return `${lines.join('\n')}\n`;
}

/** Validates with the daemon's validator; optional keys it refuses are removed and noted, then again. */
function validate(
  document: Record<string, unknown>,
  optional: OptionalKey[],
  notes: KaNote[],
  file: string,
): { config: VrrpDaemonConfig | undefined; issues: ConfigIssue[] } {
  for (;;) {
    try {
      return { config: parseVrrpDaemonConfig(document, file), issues: [] };
    } catch (e) {
      if (!(e instanceof VrrpdError) || e.code !== 'VRRPD_CONFIG_INVALID') throw e;
      const issues = (e.details as { issues: ConfigIssue[] }).issues;
      const refused = optional.filter((o) => issues.some((i) => refersTo(i, o.path)));
      if (refused.length === 0) return { config: undefined, issues };
      for (const o of refused) {
        optional.splice(optional.indexOf(o), 1);
        const issue = issues.find((i) => refersTo(i, o.path)) as ConfigIssue;
        removeKey(document, o.path);
        notes.push({
          file: o.from.file,
          line: o.from.line,
          setting: o.from.words.join(' '),
          reason: `not imported: this proxyha-vrrpd does not accept ${formatPath(o.path)} (${issue.message})`,
        });
      }
    }
  }
}

/** Does a validation issue concern the key at `path` (its value, or the key itself being unknown)? */
function refersTo(issue: ConfigIssue, path: readonly (string | number)[]): boolean {
  const at = formatPath(path);
  const key = String(path.at(-1));
  return (
    issue.path === at ||
    issue.path.startsWith(`${at}.`) ||
    issue.path.startsWith(`${at}[`) ||
    (issue.path === formatPath(path.slice(0, -1)) && issue.message.includes(`"${key}"`))
  );
}

function removeKey(document: Record<string, unknown>, path: readonly (string | number)[]): void {
  let node: unknown = document;
  for (const p of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[p];
  if (node && typeof node === 'object')
    delete (node as Record<string | number, unknown>)[path.at(-1) as string];
}

/** Keys whose lists are short enough to read on one line. */
const FLOW = new Set(['virtualIps', 'unicastPeers', 'command', 'instances']);

function render(
  document: Record<string, unknown>,
  sources: readonly { file: string; line: number; words: readonly string[] }[],
  file: string,
  configId: string | undefined,
  noted: number,
): string {
  const doc = new Document(document, { aliasDuplicateObjects: false });
  const header = [
    ` proxyha-vrrpd configuration imported from ${file} (proxyha-vrrpd --import-keepalived${
      configId === undefined ? '' : `, config id "${configId}"`
    }).`,
    noted === 0
      ? ' Every keepalived setting was imported.'
      : ` ${noted} keepalived setting(s) were not imported or differ: see the report of the import.`,
    ' Settings keepalived and proxyha-vrrpd default differently are written out.',
  ];
  doc.commentBefore = header.join('\n');
  const instances = doc.get('instances', true);
  if (isSeq(instances)) {
    instances.items.forEach((item, i) => {
      const src = sources[i];
      if (src && isMap(item))
        (item as YAMLMap).commentBefore = ` ${src.words.join(' ')}: ${src.file} line ${src.line}`;
      if (isMap(item)) flowLists(item as YAMLMap);
    });
  }
  const groups = doc.get('syncGroups', true);
  if (isSeq(groups)) for (const g of groups.items) if (isMap(g)) flowLists(g as YAMLMap);
  return doc.toString({ lineWidth: 0 });
}

/** Writes string lists (`virtualIps`, `command`, notify argv) on one line, nested ones too. */
function flowLists(map: YAMLMap): void {
  for (const pair of map.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    const value = pair.value;
    if (isSeq(value)) {
      const seq = value as YAMLSeq;
      if (seq.items.every((x) => !isMap(x) && !isSeq(x)) && (FLOW.has(key) || key.startsWith('notify')))
        seq.flow = true;
      for (const x of seq.items) if (isMap(x)) flowLists(x as YAMLMap);
    }
  }
}
