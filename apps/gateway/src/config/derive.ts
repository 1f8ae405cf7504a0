// Each package's configuration, derived from the gateway's one file, and the rules that map the package's
// issue paths back to the paths of that file (`instances[0].priority` -> `ha.priority`).
import { posix } from 'node:path';
import { type ConfigIssue, ProxyhaError, parseDuration, ROOT_PATH } from '@proxyha/common';
import { CM_KEYS, HEALTH_KEYS, LB_KEYS, VRRP_DAEMON_KEYS, VRRP_INSTANCE_KEYS } from './schema';

/** The name of the VRRP instance the gateway runs. */
export const INSTANCE_NAME = 'VI_1';
/** The name of the instance's health tracker (a keepalived track_file: `file:health`). */
export const HEALTH_TRACKER_NAME = 'health';
/**
 * The name of the instance's maintenance tracker (a keepalived track_file: `file:maintenance`): the
 * maintenance flag file holds `1` while maintenance mode is on, which lowers the priority by
 * {@link MAINTENANCE_WEIGHT} so that another node takes the VIP over without an election storm.
 */
export const MAINTENANCE_TRACKER_NAME = 'maintenance';
/** The maintenance tracker's weight: the lowest keepalived allows, so that any other node wins. */
export const MAINTENANCE_WEIGHT = -253;

/**
 * Maps a package's issue path to the file's: `from` matches the path itself and everything below it
 * (`from` `''`: every path but the root); the longest match wins. `whole` maps the whole subtree to `to`
 * (a derived value: the package's sub-path means nothing in the file).
 */
export interface PathRule {
  readonly from: string;
  readonly to: string;
  readonly whole?: boolean;
}

/** A package's input, derived from the file, with its path rules. */
export interface Derivation {
  readonly input: Record<string, unknown>;
  readonly rules: readonly PathRule[];
}

/** What the derivations share: the node's settings. */
export interface DeriveContext {
  /** `node.name` as written (or the default). */
  readonly name: unknown;
  /** The data directory (valid, or the default). */
  readonly dataDir: string;
  /** The health tracker's weight (0: fault). */
  readonly healthWeight: number;
}

type Doc = Record<string, unknown>;

/** True for a YAML mapping. */
export function isMapping(value: unknown): value is Doc {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The keys of `from` that are set, copied. */
function pick(from: Doc, keys: readonly string[]): Doc {
  const out: Doc = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

/** Drops undefined values. */
function defined(doc: Doc): Doc {
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined));
}

/** `<dataDir>/<name>`. */
export function dataPath(ctx: Pick<DeriveContext, 'dataDir'>, name: string): string {
  return posix.join(ctx.dataDir, name);
}

/** The health track file the gateway writes and the VRRP instance watches. */
export function healthTrackFile(ctx: Pick<DeriveContext, 'dataDir'>): string {
  return dataPath(ctx, 'health.track');
}

/** The maintenance flag file: present (holding `1`) while maintenance mode is on; the VRRP instance tracks it. */
export function maintenanceFile(ctx: Pick<DeriveContext, 'dataDir'>): string {
  return dataPath(ctx, 'maintenance');
}

/** The default health probe interval, ms (the director's own default). */
export const DEFAULT_HEALTH_INTERVAL = 1000;

/**
 * `@proxyha/vrrpd`: one instance on `ha.interface`, with the health and maintenance trackers after the
 * operator's track files.
 */
export function deriveVrrpd(ha: Doc, ctx: DeriveContext): Derivation {
  const loopback = ha.transport === 'loopback';
  const userFiles = ha.trackFiles;
  const tracker = { name: HEALTH_TRACKER_NAME, path: healthTrackFile(ctx), weight: ctx.healthWeight };
  const maintenance = {
    name: MAINTENANCE_TRACKER_NAME,
    path: maintenanceFile(ctx),
    weight: MAINTENANCE_WEIGHT,
  };
  const own = [tracker, maintenance];
  const trackFiles =
    userFiles === undefined ? own : Array.isArray(userFiles) ? [...userFiles, ...own] : userFiles;
  const rules: PathRule[] = [
    { from: ROOT_PATH, to: 'ha' },
    { from: '', to: 'ha' },
    { from: 'instances', to: 'ha', whole: true },
    { from: 'instances[0]', to: 'ha' },
    { from: 'instances[0].name', to: 'ha', whole: true },
  ];
  if (Array.isArray(userFiles) || userFiles === undefined) {
    const n = Array.isArray(userFiles) ? userFiles.length : 0;
    rules.push(
      { from: `instances[0].trackFiles[${n}]`, to: 'ha.onHealthFailure', whole: true },
      { from: `instances[0].trackFiles[${n + 1}]`, to: 'node.dataDir', whole: true },
    );
  }
  const instance: Doc = {
    name: INSTANCE_NAME,
    interface: ha.interface,
    vrid: ha.vrid,
    priority: ha.priority,
    advertInterval: ha.advertInterval,
    virtualIps: ha.virtualIps,
    ...pick(ha, VRRP_INSTANCE_KEYS),
    trackFiles,
  };
  // a stopping director keeps the VIPs until the new master is heard: Skew_Time is under one interval and
  // the new master adverts at once; one more interval covers a lost advert (bench/RESULTS.md, "The gateway
  // node": a planned handover otherwise loses Skew_Time of requests)
  if (ha.releaseVipsAfterSuccessor === undefined) {
    const interval = parseDuration(ha.advertInterval ?? '1s');
    if (interval.ok) {
      instance.releaseVipsAfterSuccessor = 2 * interval.value;
      rules.push({ from: 'instances[0].releaseVipsAfterSuccessor', to: 'ha.advertInterval' });
    }
  }
  // the loopback transport: this router's address is the management address, its peers the other nodes
  if (loopback && ha.sourceAddress === undefined && ha.managementIp !== undefined) {
    instance.sourceAddress = ha.managementIp;
    rules.push({ from: 'instances[0].sourceAddress', to: 'ha.managementIp' });
  }
  if (loopback && ha.unicastPeers === undefined) {
    instance.unicastPeers = ha.peers;
    rules.push({ from: 'instances[0].unicastPeers', to: 'ha.peers' });
  }
  return {
    input: defined({
      transport: ha.transport,
      ...pick(ha, VRRP_DAEMON_KEYS),
      instances: [defined(instance)],
    }),
    rules,
  };
}

/**
 * The director's `handover`: with the nftables data plane the gateway keeps the director's table loaded on
 * every standby (`keepLoaded`, unless the file says otherwise), so that a takeover has nothing to load:
 * without it the new director holds the VIP for the 0.2-0.3 s an nft transaction of the whole table takes,
 * and refuses the new connections of that moment.
 */
function handoverOf(ha: Doc): unknown {
  const nftables = ha.dataPlane === undefined || ha.dataPlane === 'nftables';
  if (!nftables) return ha.handover;
  if (ha.handover === undefined) return { keepLoaded: true };
  if (isMapping(ha.handover) && ha.handover.keepLoaded === undefined)
    return { keepLoaded: true, ...ha.handover };
  return ha.handover;
}

/** `@proxyha/lb-director`: the group, named after the node, role from VRRP (see below), data in `<dataDir>/lb`. */
export function deriveLb(ha: Doc, health: Doc, ctx: DeriveContext): Derivation {
  return {
    input: defined({
      name: ctx.name,
      interface: ha.interface,
      managementIp: ha.managementIp,
      virtualIps: ha.virtualIps,
      redirects: ha.redirects,
      interval: ha.advertInterval,
      priority: ha.priority,
      transport: ha.transport,
      peers: ha.peers,
      ...pick(ha, LB_KEYS),
      handover: handoverOf(ha),
      health: defined({
        interval: health.interval ?? DEFAULT_HEALTH_INTERVAL,
        timeout: health.timeout,
        fall: health.fall,
        rise: health.rise,
      }),
      dataDir: dataPath(ctx, 'lb'),
      // the gateway drives the role from its VRRP instance (master: director), also on the loopback
      // transport, where the VIPs are on no interface to watch
      role: 'scanner',
    }),
    rules: [
      { from: ROOT_PATH, to: 'ha' },
      { from: '', to: 'ha' },
      { from: 'name', to: 'node.name' },
      { from: 'dataDir', to: 'node.dataDir', whole: true },
      { from: 'role', to: 'ha', whole: true },
      { from: 'interval', to: 'ha.advertInterval' },
      { from: 'health', to: 'health' },
      { from: 'health.host', to: 'ha.managementIp', whole: true },
    ],
  };
}

/**
 * `@proxyha/health-mon`: every redirect's destination port (each once) on the management address.
 *
 * @param timeoutMs - the probe timeout when `health.timeout` is not set (the director's default)
 */
export function deriveHealth(ha: Doc, health: Doc, timeoutMs: number | undefined): Derivation {
  const ports: unknown[] = [];
  const rules: PathRule[] = [
    { from: ROOT_PATH, to: 'health' },
    { from: '', to: 'health' },
    { from: 'host', to: 'ha.managementIp', whole: true },
    { from: 'ports', to: 'ha.redirects', whole: true },
  ];
  if (Array.isArray(ha.redirects))
    ha.redirects.forEach((r: unknown, i) => {
      if (!isMapping(r) || r.destinationPort === undefined || ports.includes(r.destinationPort)) return;
      rules.push({ from: `ports[${ports.length}]`, to: `ha.redirects[${i}].destinationPort`, whole: true });
      ports.push(r.destinationPort);
    });
  return {
    input: defined({
      host: ha.managementIp,
      ports,
      ...pick(health, HEALTH_KEYS),
      interval: health.interval ?? DEFAULT_HEALTH_INTERVAL,
      timeout: health.timeout ?? timeoutMs,
      fall: health.fall ?? 3,
      rise: health.rise ?? 2,
    }),
    rules,
  };
}

/** `@proxyha/cm-coordinator`: named after the node, data in `<dataDir>/cm`, the policy settings from `policy`. */
export function deriveCm(cm: Doc, policy: Doc, ctx: DeriveContext): Derivation {
  return {
    input: defined({
      name: ctx.name,
      ...pick(cm, CM_KEYS),
      dataDir: dataPath(ctx, 'cm'),
      policyDir: policy.dir,
      applyCommand: policy.apply,
    }),
    rules: [
      { from: ROOT_PATH, to: 'cm' },
      { from: '', to: 'cm' },
      { from: 'name', to: 'node.name' },
      { from: 'dataDir', to: 'node.dataDir', whole: true },
      { from: 'policyDir', to: 'policy.dir' },
      { from: 'applyCommand', to: 'policy.apply' },
    ],
  };
}

/** The file's path for a package's issue path. */
export function mapIssuePath(path: string, rules: readonly PathRule[]): string {
  if (path === ROOT_PATH) return rules.find((r) => r.from === ROOT_PATH)?.to ?? ROOT_PATH;
  let best: PathRule | undefined;
  for (const r of rules) {
    if (r.from === ROOT_PATH) continue;
    const hit =
      r.from === '' || path === r.from || path.startsWith(`${r.from}.`) || path.startsWith(`${r.from}[`);
    if (hit && (best === undefined || r.from.length > best.from.length)) best = r;
  }
  if (!best) return path;
  if (best.whole) return best.to;
  if (best.from === '') return path.startsWith('[') ? `${best.to}${path}` : `${best.to}.${path}`;
  return `${best.to}${path.slice(best.from.length)}`;
}

/** zod's message for unknown keys, as the packages pass it on. */
const UNRECOGNIZED = /^Unrecognized keys?: (.+)$/;

/** A package's issues on the file's paths; unknown keys become one `unknown setting` each, as the gateway's own. */
export function mapIssues(issues: readonly ConfigIssue[], rules: readonly PathRule[]): ConfigIssue[] {
  return issues.flatMap((issue) => {
    const path = mapIssuePath(issue.path, rules);
    const unknown = UNRECOGNIZED.exec(issue.message);
    if (!unknown) return [{ path, message: issue.message }];
    return [...(unknown[1] as string).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => ({
      path: path === ROOT_PATH ? (m[1] as string) : `${path}.${m[1]}`,
      message: 'unknown setting',
    }));
  });
}

/**
 * Runs a package's parser on its derived input: the value, or its issues on the file's paths. Only a
 * validation error (a `ProxyhaError` with `details.issues`) is caught.
 */
export function runParser<T>(
  parse: (input: Doc) => T,
  derivation: Derivation,
): { value: T; issues: [] } | { value: undefined; issues: ConfigIssue[] } {
  try {
    return { value: parse(derivation.input), issues: [] };
  } catch (error) {
    const issues = error instanceof ProxyhaError ? (error.details as { issues?: unknown }).issues : undefined;
    if (!Array.isArray(issues)) throw error;
    return { value: undefined, issues: mapIssues(issues as ConfigIssue[], derivation.rules) };
  }
}
