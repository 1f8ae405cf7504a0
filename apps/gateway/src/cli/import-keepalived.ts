// `proxyha import-keepalived keepalived.conf [-o FILE]`: a keepalived.conf's vrrp_instance, vrrp_script and
// vrrp_sync_group blocks as this gateway's configuration (its `ha` section). @proxyha/vrrpd's import reads
// keepalived as keepalived reads it and produces a proxyha-vrrpd configuration; this maps that to the
// gateway's one instance, adds placeholders for what keepalived does not have (the port redirects, the
// node's management address), and lists every keepalived setting that has no equivalent.
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { type ConfigIssue, formatIssues } from '@proxyha/common';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, usageError } from '@proxyha/common/cli';
import {
  formatKeepalivedImportReport,
  importKeepalivedFile,
  type KeepalivedImport,
  type KeepalivedImportNote,
  VrrpdError,
} from '@proxyha/vrrpd';
import { Document, isMap, isScalar, isSeq, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { parseGatewayConfig } from '../config/config';
import { HEALTH_TRACKER_NAME, INSTANCE_NAME, MAINTENANCE_TRACKER_NAME } from '../config/derive';
import { VRRP_DAEMON_KEYS, VRRP_INSTANCE_KEYS } from '../config/schema';
import { GatewayError } from '../errors';

/** The value of a setting the operator must fill in (the configuration is refused until then). */
export const PLACEHOLDER = 'FILL-IN';

/** A setting written with {@link PLACEHOLDER}: its path in the file and what to write there. */
export interface ImportPlaceholder {
  /** `ha.managementIp`, `ha.redirects`. */
  readonly path: string;
  /** What belongs there. */
  readonly hint: string;
}

/** What {@link gatewayConfigFromKeepalived} returns. */
export interface GatewayKeepalivedImport {
  /** The gateway configuration as YAML, with a header, the placeholders and their comments. */
  readonly yaml: string;
  /** The same configuration as a plain object ({@link PLACEHOLDER} where the operator must fill in). */
  readonly document: Record<string, unknown>;
  /** The settings to fill in before the file is valid. */
  readonly placeholders: readonly ImportPlaceholder[];
  /** Every keepalived setting not taken over, or taken over with a difference (vrrpd's notes and the gateway's). */
  readonly unmapped: readonly KeepalivedImportNote[];
  /** Problems of the result apart from the placeholders (empty: valid once they are filled). */
  readonly issues: readonly ConfigIssue[];
}

type Doc = Record<string, unknown>;

/** The notify settings a sync group carries. */
const NOTIFY_KEYS = ['notifyMaster', 'notifyBackup', 'notifyFault', 'notifyStop', 'notify'] as const;
/** The keys of a vrrpd instance that go to the `ha` section under another name, or not at all. */
const INSTANCE_BASE: Readonly<Record<string, string | null>> = {
  name: null,
  interface: 'interface',
  vrid: 'vrid',
  priority: 'priority',
  advertInterval: 'advertInterval',
  virtualIps: 'virtualIps',
};

/**
 * Maps a keepalived import (`importKeepalivedFile` of `@proxyha/vrrpd`) to the gateway's configuration:
 * the first `vrrp_instance` becomes the `ha` section (the gateway runs one instance, `VI_1`), with its
 * scripts, track files and interfaces, notify scripts and the global VRRP settings; the notify scripts of
 * a `vrrp_sync_group` it belongs to apply to it where it has none of its own. Instances beyond the first
 * and sync groups without it are listed as not imported. `ha.redirects` and, without a `unicast_src_ip` /
 * `mcast_src_ip`, `ha.managementIp` are {@link PLACEHOLDER}s. The result is validated with the gateway's
 * own parser; problems at the placeholders are expected and left out of `issues`.
 *
 * @param imported - what vrrpd's import returned
 * @param file - the keepalived.conf, for the header and notes
 */
export function gatewayConfigFromKeepalived(
  imported: KeepalivedImport,
  file: string,
): GatewayKeepalivedImport {
  const source = imported.document as Doc;
  const instances = (Array.isArray(source.instances) ? source.instances : []) as Doc[];
  const first = instances[0];
  if (!first)
    throw new GatewayError('GATEWAY_CONFIG_INVALID', `${file}: no vrrp_instance could be imported`, {
      details: { issues: [{ path: '(root)', message: 'no vrrp_instance could be imported' }] },
    });
  const notes: KeepalivedImportNote[] = [];
  const at = imported.sources.instances[0] ?? { name: String(first.name), file, line: 0 };
  const block = (kind: string, name: string) => `${kind} ${name} { ... }`;

  const ha: Doc = {};
  for (const [key, to] of Object.entries(INSTANCE_BASE))
    if (to && first[key] !== undefined) ha[to] = first[key];
  const placeholders: ImportPlaceholder[] = [];
  if (typeof first.sourceAddress === 'string') ha.managementIp = first.sourceAddress;
  else {
    ha.managementIp = PLACEHOLDER;
    placeholders.push({
      path: 'ha.managementIp',
      hint: `this node's own address on ${String(first.interface)} (never a VIP): the director sends it traffic there, the health monitor probes it`,
    });
  }
  ha.redirects = [{ originalPort: PLACEHOLDER, destinationPort: PLACEHOLDER }];
  placeholders.push({
    path: 'ha.redirects',
    hint: 'the port redirects (keepalived has none): the original destination port clients use on the VIP -> the proxy port on every node, e.g. { originalPort: 9090, destinationPort: 3128 }',
  });
  for (const key of VRRP_INSTANCE_KEYS) if (first[key] !== undefined) ha[key] = first[key];
  for (const key of VRRP_DAEMON_KEYS) if (source[key] !== undefined) ha[key] = source[key];

  if (first.name !== INSTANCE_NAME)
    notes.push({
      file: at.file,
      line: at.line,
      setting: `vrrp_instance ${String(first.name)}`,
      reason: `imported with a difference: the gateway's instance is named ${INSTANCE_NAME} (in its logs and notify arguments)`,
    });
  for (const key of Object.keys(first))
    if (!(key in INSTANCE_BASE) && !(VRRP_INSTANCE_KEYS as readonly string[]).includes(key))
      notes.push({
        file: at.file,
        line: at.line,
        setting: `vrrp_instance ${String(first.name)}: ${key}`,
        reason: 'not imported: the gateway has no such ha setting',
      });
  for (const key of Object.keys(source))
    if (key !== 'instances' && key !== 'syncGroups' && !(VRRP_DAEMON_KEYS as readonly string[]).includes(key))
      notes.push({
        file: at.file,
        line: at.line,
        setting: key,
        reason: 'not imported: the gateway has no such ha setting',
      });

  // the gateway's own trackers are track files named `health` and `maintenance`: keepalived ones of those
  // names move aside
  if (Array.isArray(ha.trackFiles))
    ha.trackFiles = (ha.trackFiles as Doc[]).map((t) => {
      const name = t?.name;
      if (name !== HEALTH_TRACKER_NAME && name !== MAINTENANCE_TRACKER_NAME) return t;
      notes.push({
        file: at.file,
        line: at.line,
        setting: `track_file ${name}`,
        reason: `imported with a difference: named keepalived-${name} (the gateway's own ${name} tracker is ${name})`,
      });
      return { ...t, name: `keepalived-${name}` };
    });

  instances.slice(1).forEach((inst, i) => {
    const src = imported.sources.instances[i + 1];
    notes.push({
      file: src?.file ?? file,
      line: src?.line ?? 0,
      setting: block('vrrp_instance', String(inst.name)),
      reason: `not imported: the gateway runs one VRRP instance, ${INSTANCE_NAME}, from vrrp_instance ${String(first.name)} (line ${at.line}); run another gateway group or proxyha-vrrpd for this one`,
    });
  });

  const groups = (Array.isArray(source.syncGroups) ? source.syncGroups : []) as Doc[];
  groups.forEach((g, i) => {
    const src = imported.sources.syncGroups[i] ?? { file, line: 0 };
    const members = (Array.isArray(g.instances) ? g.instances : []) as string[];
    const setting = block('vrrp_sync_group', String(g.name));
    if (!members.includes(String(first.name))) {
      notes.push({
        file: src.file,
        line: src.line,
        setting,
        reason: `not imported: ${String(first.name)} is not one of its instances, and the gateway runs that one only`,
      });
      return;
    }
    const taken: string[] = [];
    for (const key of NOTIFY_KEYS) {
      if (g[key] === undefined) continue;
      if (ha[key] !== undefined) {
        notes.push({
          file: src.file,
          line: src.line,
          setting: `${setting}: ${key}`,
          reason: `not imported: ha.${key} already runs the instance's own script`,
        });
        continue;
      }
      ha[key] = g[key];
      taken.push(key);
    }
    notes.push({
      file: src.file,
      line: src.line,
      setting,
      reason:
        `imported with a difference: the gateway runs one instance, so the group is ${INSTANCE_NAME} alone` +
        (taken.length > 0
          ? `; its ${taken.join(', ')} became the instance's (they run on ${INSTANCE_NAME}'s transitions${
              taken.includes('notify')
                ? ', and notify gets INSTANCE VI_1 STATE PRIORITY instead of GROUP NAME STATE'
                : ''
            })`
          : ''),
    });
  });

  const document: Doc = { ha };
  const issues = remainingIssues(document, placeholders, file);
  // in file order (the imported file first, then its includes as they were read), then by line
  const files = [...new Set([file, ...imported.unmapped.map((n) => n.file), ...notes.map((n) => n.file)])];
  const unmapped = [...imported.unmapped, ...notes].sort(
    (a, b) => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line,
  );
  return {
    yaml: render(document, placeholders, file, unmapped.length),
    document,
    placeholders,
    unmapped,
    issues,
  };
}

/** Stand-ins for the placeholders while validating: documentation addresses, the usual proxy ports. */
function standIns(ha: Doc): Doc {
  const vips = (Array.isArray(ha.virtualIps) ? ha.virtualIps : []).map((v) => String(v).split('/')[0]);
  const v6 = vips.some((v) => v?.includes(':'));
  const candidates = v6 ? ['2001:db8::1', '2001:db8::2'] : ['192.0.2.1', '192.0.2.2'];
  const out: Doc = { ...ha };
  if (out.managementIp === PLACEHOLDER) out.managementIp = candidates.find((c) => !vips.includes(c));
  out.redirects = [{ originalPort: 9090, destinationPort: 3128 }];
  return out;
}

/**
 * The gateway parser's issues for the document with stand-ins for the placeholders (so that they hide no
 * other problem), apart from any at the placeholders themselves.
 */
function remainingIssues(
  document: Doc,
  placeholders: readonly ImportPlaceholder[],
  file: string,
): ConfigIssue[] {
  try {
    parseGatewayConfig({ ...document, ha: standIns(document.ha as Doc) }, file);
    return [];
  } catch (error) {
    const issues =
      error instanceof GatewayError ? (error.details as { issues?: ConfigIssue[] }).issues : undefined;
    if (!Array.isArray(issues)) throw error;
    return issues.filter(
      (i) =>
        !placeholders.some(
          (p) => i.path === p.path || i.path.startsWith(`${p.path}.`) || i.path.startsWith(`${p.path}[`),
        ),
    );
  }
}

/** The key of a pair. */
const keyOf = (p: Pair) => String(isScalar(p.key) ? p.key.value : p.key);

/** Short lists of scalars (addresses, argv) on one line; nested maps too. */
function flowLists(node: unknown): void {
  if (isMap(node))
    for (const p of (node as YAMLMap).items) {
      if (isSeq(p.value)) {
        const seq = p.value as YAMLSeq;
        if (seq.items.every((x) => !isMap(x) && !isSeq(x))) seq.flow = true;
        for (const x of seq.items) flowLists(x);
      } else flowLists(p.value);
    }
}

function render(
  document: Doc,
  placeholders: readonly ImportPlaceholder[],
  file: string,
  noted: number,
): string {
  const doc = new Document(document, { aliasDuplicateObjects: false });
  doc.commentBefore = [
    ` proxyha gateway configuration imported from ${file} (proxyha import-keepalived).`,
    placeholders.length > 0
      ? ` Fill in every ${PLACEHOLDER} below, then: proxyha check --config THIS-FILE`
      : ' Check it with: proxyha check --config THIS-FILE',
    noted === 0
      ? ' Every keepalived setting was imported.'
      : ` ${noted} keepalived setting(s) were not imported or differ: see the report of the import.`,
    ' Sections not written (health, ntp, cm, policy, management, node) take their defaults: see the README.',
  ].join('\n');
  const ha = doc.get('ha', true) as YAMLMap;
  flowLists(ha);
  for (const pair of ha.items) {
    const key = keyOf(pair);
    const placeholder = placeholders.find((p) => p.path === `ha.${key}`);
    if (placeholder && isScalar(pair.key)) pair.key.commentBefore = ` ${PLACEHOLDER}: ${placeholder.hint}`;
    if (key === 'managementIp' && !placeholder && isScalar(pair.key))
      pair.key.commentBefore =
        " from the instance's unicast_src_ip / mcast_src_ip: this node's own address, never a VIP";
    if (key === 'redirects' && isSeq(pair.value))
      for (const r of (pair.value as YAMLSeq).items) if (isMap(r)) (r as YAMLMap).flow = true;
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * `proxyha import-keepalived FILE [-o OUT] [--config-id ID]`: the gateway YAML on stdout (or in `OUT`, which
 * must not exist yet), the report on stderr: one `# FILE:LINE: SETTING — REASON` line per keepalived
 * setting without an equivalent, the placeholders to fill in, and any problem left. Exit 0 when a
 * configuration was produced (valid once the placeholders are filled), 1 when nothing could be imported
 * or a problem is left, 2 for a keepalived syntax error or an unreadable file.
 *
 * @param file - the keepalived.conf
 * @param options - `out`: the file to write; `configId`: keepalived's `-i` (`@ID` lines apply; default the
 *   host name's first part, as keepalived's default)
 * @param io - where to write
 */
export async function importKeepalivedCommand(
  file: string,
  options: { readonly out?: string | undefined; readonly configId?: string | undefined },
  io: CliIo,
): Promise<number> {
  let imported: KeepalivedImport;
  try {
    imported = importKeepalivedFile(file, { configId: options.configId ?? hostname().split('.')[0] });
  } catch (e) {
    if (e instanceof VrrpdError && e.code === 'VRRPD_KEEPALIVED_SYNTAX') {
      io.stderr.write(`proxyha: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  if ((imported.document.instances as unknown[] | undefined)?.length === 0) {
    io.stderr.write(formatKeepalivedImportReport(imported.unmapped));
    io.stderr.write(`proxyha: ${file}: no vrrp_instance could be imported\n`);
    return EXIT_FAILURE;
  }
  const result = gatewayConfigFromKeepalived(imported, file);
  if (options.out !== undefined) {
    try {
      await writeFile(options.out, result.yaml, { flag: 'wx', mode: 0o644 });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      usageError(
        e.code === 'EEXIST'
          ? `${options.out} exists: not overwritten (remove it, or give another -o file)`
          : `cannot write ${options.out}: ${e.code ?? e.message}`,
      );
    }
  } else io.stdout.write(result.yaml);
  io.stderr.write(formatKeepalivedImportReport(result.unmapped));
  for (const p of result.placeholders) io.stderr.write(`# ${PLACEHOLDER} ${p.path}: ${p.hint}\n`);
  if (options.out !== undefined) io.stderr.write(`proxyha: wrote ${options.out}\n`);
  if (result.issues.length > 0) {
    io.stderr.write(`proxyha: ${formatIssues(`the configuration imported from ${file}`, result.issues)}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
