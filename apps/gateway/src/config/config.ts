// The gateway's one configuration file: validation (the gateway's own settings here, each package's by the
// package's own parser on the derived object), issues on the paths of the file, and the typed result.
import { hostname } from 'node:os';
import { parseCmConfig, parsePeerAddress } from '@proxyha/cm-coordinator';
import { type ConfigIssue, describeValue, formatIssues, parseDuration, ROOT_PATH } from '@proxyha/common';
import { readConfigFile } from '@proxyha/common/cli';
import { parseMonitorConfig } from '@proxyha/health-mon';
import { parseLbDaemonConfig } from '@proxyha/lb-director';
import { parseVrrpDaemonConfig } from '@proxyha/vrrpd';
import { GatewayError, type GatewayIssueDetails } from '../errors';
import {
  DEFAULT_HEALTH_INTERVAL,
  type DeriveContext,
  dataPath,
  deriveCm,
  deriveHealth,
  deriveLb,
  deriveVrrpd,
  HEALTH_TRACKER_NAME,
  healthTrackFile,
  isMapping,
  MAINTENANCE_TRACKER_NAME,
  maintenanceFile,
  runParser,
} from './derive';
import {
  type FileShape,
  fileIssues,
  fileSchema,
  isLoopback,
  isWildcard,
  type ListenEndpoint,
} from './schema';
import type { GatewayConfig, GatewayNtpConfig } from './types';

/** The data directory when `node.dataDir` is not set. */
export const DEFAULT_GATEWAY_DATA_DIR = '/var/lib/proxyha';
/** Where the management API listens when `management.listen` is not set. */
const DEFAULT_MANAGEMENT_LISTEN: ListenEndpoint = { host: '127.0.0.1', port: 8443 };

/** The order of the sections in the file: issues are listed in it. */
const SECTIONS = ['node', 'ha', 'health', 'ntp', 'cm', 'policy', 'management'];

function invalid(source: string, issues: readonly ConfigIssue[]): GatewayError<GatewayIssueDetails> {
  return new GatewayError('GATEWAY_CONFIG_INVALID', formatIssues(source, issues), { details: { issues } });
}

/**
 * One issue per path (the first found: the gateway's own, then vrrpd's, lb's, health-mon's, cm's), in the
 * order of the file: by section, then by the order of the keys within the section as written.
 */
function tidy(issues: readonly ConfigIssue[], data: Record<string, unknown> = {}): ConfigIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => !seen.has(i.path) && seen.add(i.path));
  const rank = (i: ConfigIssue): [number, number] => {
    if (i.path === ROOT_PATH) return [-1, 0];
    const [section, key] = i.path.split(/[.[]/) as [string, string | undefined];
    const n = SECTIONS.indexOf(section);
    const body = data[section];
    const keys = isMapping(body) ? Object.keys(body) : [];
    const k = key === undefined ? -1 : keys.indexOf(key);
    return [n < 0 ? SECTIONS.length : n, k < 0 ? keys.length : k];
  };
  return unique
    .map((i, n) => ({ i, n, r: rank(i) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.n - b.n)
    .map(({ i }) => i);
}

/**
 * Validates an already parsed gateway configuration (YAML or JSON) and derives each package's validated
 * configuration from it. Every problem is reported on the path of the file the operator wrote
 * (`ha.priority`, `ha.redirects[0].originalPort`), including those a package's own parser finds in the
 * derived configuration.
 *
 * @param data - the parsed document (`GatewayConfigFile`)
 * @param source - how to name it in the message (the file name)
 * @throws {@link GatewayError} `GATEWAY_CONFIG_INVALID` with `details.issues` naming every bad path
 */
export function parseGatewayConfig(data: unknown, source = 'config'): GatewayConfig {
  if (!isMapping(data))
    throw invalid(source, [
      {
        path: ROOT_PATH,
        message: `must be a mapping with at least an ha section (got ${data === null || data === undefined ? 'an empty document' : describeValue(data)})`,
      },
    ]);
  const checked = fileSchema.safeParse(data, { reportInput: true });
  const issues: ConfigIssue[] = checked.success ? [] : fileIssues(checked.error.issues, data);
  const file: FileShape | undefined = checked.success ? checked.data : undefined;
  if (!isMapping(data.ha)) throw invalid(source, tidy(issues, data));

  // the packages' inputs come from the document as written; the gateway's own values where valid
  const ha = data.ha;
  const health = isMapping(data.health) ? data.health : {};
  const node = isMapping(data.node) ? data.node : {};
  const dataDir =
    typeof node.dataDir === 'string' && node.dataDir.startsWith('/')
      ? node.dataDir
      : DEFAULT_GATEWAY_DATA_DIR;
  const failure = isMapping(ha.onHealthFailure) ? ha.onHealthFailure.weight : undefined;
  const ctx: DeriveContext = {
    name: node.name ?? hostname(),
    dataDir,
    healthWeight: typeof failure === 'number' && Number.isInteger(failure) && failure < 0 ? failure : 0,
  };

  const vrrpd = runParser((d) => parseVrrpDaemonConfig(d, source), deriveVrrpd(ha, ctx));
  const lb = runParser((d) => parseLbDaemonConfig(d, source), deriveLb(ha, health, ctx));
  const interval = parseDuration(health.interval ?? DEFAULT_HEALTH_INTERVAL);
  const monitor = runParser(
    (d) => parseMonitorConfig(d, source),
    deriveHealth(ha, health, interval.ok ? Math.min(Math.max(interval.value, 1), 1000) : undefined),
  );
  const cmSection = data.cm;
  const policy = isMapping(data.policy) ? data.policy : {};
  const cm = isMapping(cmSection)
    ? runParser((d) => parseCmConfig(d, source), deriveCm(cmSection, policy, ctx))
    : undefined;
  issues.push(...vrrpd.issues, ...lb.issues, ...monitor.issues, ...(cm?.issues ?? []));
  issues.push(...crossIssues(data, file, dataDir));

  if (issues.length > 0 || !file || !vrrpd.value || !lb.value || !monitor.value || (cm && !cm.value))
    throw invalid(
      source,
      tidy(issues.length > 0 ? issues : [{ path: ROOT_PATH, message: 'is invalid' }], data),
    );

  const management = file.management;
  return {
    node: { name: lb.value.name, dataDir },
    vrrpd: vrrpd.value,
    lb: lb.value,
    health: monitor.value,
    healthTracker: {
      file: healthTrackFile(ctx),
      onFailure: ctx.healthWeight === 0 ? 'fault' : 'weight',
      weight: ctx.healthWeight,
    },
    ntp: file.ntp ? ntpConfig(file.ntp) : undefined,
    cm: cm?.value,
    management: {
      listen: management?.listen ?? DEFAULT_MANAGEMENT_LISTEN,
      tokenFile: management?.tokenFile ?? dataPath(ctx, 'admin.token'),
      tls: management?.tls,
    },
    maintenance: { stateFile: maintenanceFile(ctx) },
  };
}

function ntpConfig(n: NonNullable<FileShape['ntp']>): GatewayNtpConfig {
  const maxOffsetMs = n.maxOffset ?? 1000;
  return {
    servers: n.servers,
    maxOffsetMs,
    warnOffsetMs: n.warnOffset ?? maxOffsetMs / 2,
    panicThresholdMs: n.panicThreshold ?? 1_000_000,
    timeoutMs: n.timeout ?? 2000,
    intervalMs: n.interval ?? 64_000,
  };
}

/** A listening port of the node's own, and where the file sets it. */
interface Listener {
  readonly path: string;
  readonly host: string;
  readonly port: number;
  readonly what: string;
}

/** Checks across sections and packages that no single package can make. */
function crossIssues(
  data: Record<string, unknown>,
  file: FileShape | undefined,
  dataDir: string,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ha = data.ha as Record<string, unknown>;
  // the redirect ports: the director takes the original ports, the proxies listen on the destination ports
  const redirectPorts: { port: number; path: string; which: 'originalPort' | 'destinationPort' }[] = [];
  if (Array.isArray(ha.redirects))
    ha.redirects.forEach((r: unknown, i) => {
      if (!isMapping(r)) return;
      for (const which of ['originalPort', 'destinationPort'] as const)
        if (typeof r[which] === 'number')
          redirectPorts.push({ port: r[which], path: `ha.redirects[${i}]`, which });
    });
  const listeners: Listener[] = [];
  if (isMapping(data.cm) && typeof data.cm.listen === 'string') {
    try {
      const e = parsePeerAddress(data.cm.listen);
      listeners.push({ path: 'cm.listen', host: e.host, port: e.port, what: 'central management' });
    } catch {
      // cm's own parser names it
    }
  }
  if (file || !isMapping(data.management) || data.management.listen === undefined) {
    const listen = file?.management?.listen ?? DEFAULT_MANAGEMENT_LISTEN;
    listeners.push({
      path: 'management.listen',
      host: listen.host,
      port: listen.port,
      what: `the management API${file?.management?.listen ? '' : ' (by default)'}`,
    });
  }
  for (const [n, l] of listeners.entries()) {
    const clash = redirectPorts.find((r) => r.port === l.port);
    if (clash)
      issues.push({
        path: l.path,
        message:
          clash.which === 'originalPort'
            ? `port ${l.port} is a redirect port (${clash.path}.originalPort): the director would send ${l.what}'s connections to the proxies`
            : `port ${l.port} is a destination proxy port (${clash.path}.destinationPort): the proxy listens on it`,
      });
    const other = listeners
      .slice(0, n)
      .find((o) => o.port === l.port && (o.host === l.host || isWildcard(o.host) || isWildcard(l.host)));
    if (other) issues.push({ path: l.path, message: `port ${l.port} is ${other.what}'s (${other.path})` });
  }
  const management = file?.management;
  const listen = management?.listen ?? DEFAULT_MANAGEMENT_LISTEN;
  if (file && !isLoopback(listen.host) && !management?.tls)
    issues.push({
      path: 'management.tls',
      message: `is required: management.listen ${listen.host} is not a loopback address, and the admin token must not cross the network in clear`,
    });
  if (data.policy !== undefined && data.cm === undefined)
    issues.push({ path: 'policy', message: 'needs a cm section: central management writes the policy' });
  // the gateway's own track files are named `health` and `maintenance`: the operator's must not collide
  if (Array.isArray(ha.trackFiles))
    ha.trackFiles.forEach((f: unknown, i) => {
      if (!isMapping(f)) return;
      for (const [name, file, what] of [
        [HEALTH_TRACKER_NAME, healthTrackFile({ dataDir }), 'health'],
        [MAINTENANCE_TRACKER_NAME, maintenanceFile({ dataDir }), 'maintenance'],
      ] as const) {
        if (f.name === name)
          issues.push({
            path: `ha.trackFiles[${i}].name`,
            message: `"${name}" is the gateway's own ${what} tracker: choose another name`,
          });
        if (f.path === file)
          issues.push({
            path: `ha.trackFiles[${i}].path`,
            message: `is the gateway's own ${what} track file: choose another file`,
          });
      }
    });
  return issues;
}

/**
 * Reads and validates the gateway's configuration file (YAML; JSON is YAML).
 *
 * @param file - the path
 * @throws `@proxyha/common`'s `COMMON_CONFIG_READ` when it cannot be read or is not YAML (naming the file and
 *   the line); {@link GatewayError} `GATEWAY_CONFIG_INVALID` when it does not validate
 */
export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  return parseGatewayConfig(await readConfigFile(file), file);
}
