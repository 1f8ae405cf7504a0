// Scenario scripts for the simulator, in the style of etcd-io/raft's interaction tests: a small text
// script drives a SimNetwork, and its output (every command, then everything that happened) is a golden
// file reviewed as a diff.
import { type MachineConfig, VrrpError } from '@proxyha/vrrp';
import { type SimLink, SimNetwork, type SimRecord, type SimRouterSpec } from './network';

interface Pending {
  routers: SimRouterSpec[];
  seed: number;
  link: Partial<SimLink>;
  sends: boolean;
  logs: boolean;
}

function fail(line: number, text: string, why: string): never {
  throw new VrrpError('VRRP_INVALID_ARGUMENT', `scenario line ${line}: ${why}: ${text}`, {
    details: { field: `line ${line}` },
  });
}

/** Formats a virtual time: milliseconds, with as many decimals as it has (at most 6). */
function ms(t: number): string {
  return String(Math.round(t * 1e6) / 1e6);
}

function format(r: SimRecord, logs: boolean): string | undefined {
  const head = `${ms(r.at)} ${r.router}`;
  switch (r.kind) {
    case 'transition':
      return `${head} ${r.from} -> ${r.to} (${r.reason}) prio ${r.priority}`;
    case 'vips':
      return `${head} ${r.held ? 'adds' : 'removes'} the VIPs`;
    case 'announce':
      return `${head} announces (${r.reason})`;
    case 'discard':
      return `${head} discards an advert from ${r.from}: ${r.reason}`;
    case 'send':
      return `${head} sends prio ${r.priority} (${r.reason})`;
    case 'log':
      return logs ? `${head} log ${r.level}: ${r.message}` : undefined;
    default:
      return `${head} ${r.kind}`;
  }
}

function keyValues(words: readonly string[], line: number, text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) fail(line, text, `expected key=value, got ${JSON.stringify(w)}`);
    out.set(w.slice(0, eq), w.slice(eq + 1));
  }
  return out;
}

function num(v: string | undefined, line: number, text: string, what: string): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(n)) fail(line, text, `${what} must be a number`);
  return n;
}

const ROUTER_KEYS = new Set([
  'priority',
  'version',
  'interval',
  'preempt',
  'preemptDelay',
  'vip',
  'vrid',
  'unicast',
  'auth',
  'accept',
  'lowerPriority',
  'trackers',
]);

function routerSpec(words: readonly string[], line: number, text: string): SimRouterSpec {
  const [name, address, ...rest] = words;
  if (!name || !address) fail(line, text, 'router needs a name and an address');
  const kv = keyValues(rest, line, text);
  for (const k of kv.keys()) if (!ROUTER_KEYS.has(k)) fail(line, text, `unknown router setting ${k}`);
  const list = (k: string) => (kv.get(k) ?? '').split(',').filter(Boolean);
  const config: MachineConfig = {
    name: 'VI_1',
    vrid: kv.has('vrid') ? num(kv.get('vrid'), line, text, 'vrid') : 51,
    priority: kv.has('priority') ? num(kv.get('priority'), line, text, 'priority') : 100,
    version: kv.get('version') === '2' ? 2 : 3,
    advertIntervalMs: kv.has('interval') ? num(kv.get('interval'), line, text, 'interval') : 1000,
    primaryAddress: address,
    virtualIps: kv.has('vip') ? list('vip') : [address.includes(':') ? 'fd77::74/64' : '192.168.77.74/24'],
    preempt: kv.get('preempt') !== 'false',
    preemptDelayMs: kv.has('preemptDelay') ? num(kv.get('preemptDelay'), line, text, 'preemptDelay') : 0,
    accept: kv.get('accept') === 'true',
    unicastPeers: list('unicast'),
    ...(kv.has('auth') ? { auth: { type: 'simple' as const, password: kv.get('auth') as string } } : {}),
    ...(kv.get('lowerPriority') === 'rfc5798' ? { lowerPriorityResponse: 'rfc5798' as const } : {}),
    trackers: list('trackers').map((t) => {
      const [tracker, weight] = t.split(':');
      return {
        name: tracker as string,
        weight: weight === undefined ? 0 : num(weight, line, text, 'tracker weight'),
      };
    }),
  };
  return { name, config, startAt: false };
}

/**
 * Runs a scenario script on a {@link SimNetwork} and returns its trace: each command as `> command`,
 * followed by everything that happened while it ran, one line each (`3609.375 a backup -> master
 * (masterDown) prio 100`, `... adds the VIPs`, `... discards an advert from 192.168.77.12:
 * VRRP_AUTH_FAILURE`; adverts with `trace sends`, machine log lines with `trace logs`).
 *
 * Commands, one per line (`#` starts a comment):
 * - set-up, before the first other command: `router NAME ADDRESS [priority=N] [version=2|3]
 *   [interval=MS] [preempt=false] [preemptDelay=MS] [vip=A/24,B/24] [vrid=N] [unicast=A,B]
 *   [auth=PASSWORD] [accept=true] [lowerPriority=rfc5798] [trackers=NAME:WEIGHT,...]`, `seed N`,
 *   `link delay=MS loss=P jitter=MS` (every link), `trace sends`, `trace logs`;
 * - `start NAME...` (or `start *`), `stop NAME` (graceful: priority 0), `crash NAME`, `down NAME` /
 *   `up NAME` (its interface), `tracker NAME TRACKER up|down [weight=N]`, `partition a,b c` (groups
 *   separated by spaces), `heal`, `link FROM TO delay=MS loss=P jitter=MS` (one direction);
 * - `run MS` (advance by), `until T` (advance to), `state` (each router's state, priority and master).
 *
 * @param script - the scenario
 * @throws `VrrpError` `VRRP_INVALID_ARGUMENT` naming the line of a command it cannot read
 */
export function runScenario(script: string): string {
  const out: string[] = [];
  const pending: Pending = { routers: [], seed: 1, link: {}, sends: false, logs: false };
  let net: SimNetwork | undefined;
  let seen = 0;
  const flush = () => {
    if (!net) return;
    for (; seen < net.records.length; seen++) {
      const text = format(net.records[seen] as SimRecord, pending.logs);
      if (text !== undefined) out.push(text);
    }
  };
  const network = (line: number, text: string): SimNetwork => {
    if (!net) {
      if (pending.routers.length === 0) fail(line, text, 'no router declared');
      net = new SimNetwork({
        routers: pending.routers,
        seed: pending.seed,
        link: pending.link,
        recordSends: pending.sends,
      });
    }
    return net;
  };
  const lines = script.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const text = raw.replace(/#.*$/, '').trim();
    if (text === '') continue;
    out.push(`> ${text}`);
    const [cmd, ...words] = text.split(/\s+/) as [string, ...string[]];
    const setup =
      cmd === 'router' ||
      cmd === 'seed' ||
      cmd === 'trace' ||
      (cmd === 'link' && words[0]?.includes('=') === true);
    if (setup && net) fail(line, text, `${cmd} must come before the simulation starts`);
    switch (cmd) {
      case 'router':
        pending.routers.push(routerSpec(words, line, text));
        break;
      case 'seed':
        pending.seed = num(words[0], line, text, 'seed');
        break;
      case 'trace':
        if (words[0] === 'sends') pending.sends = true;
        else if (words[0] === 'logs') pending.logs = true;
        else fail(line, text, 'trace takes sends or logs');
        break;
      case 'link': {
        const all = words[0]?.includes('=') === true;
        const kv = keyValues(all ? words : words.slice(2), line, text);
        const link: Partial<SimLink> = {
          ...(kv.has('delay') ? { delayMs: num(kv.get('delay'), line, text, 'delay') } : {}),
          ...(kv.has('loss') ? { lossRate: num(kv.get('loss'), line, text, 'loss') } : {}),
          ...(kv.has('jitter') ? { jitterMs: num(kv.get('jitter'), line, text, 'jitter') } : {}),
        };
        if (all) pending.link = { ...pending.link, ...link };
        else network(line, text).setLink(words[0] as string, words[1] as string, link);
        break;
      }
      case 'start': {
        const n = network(line, text);
        for (const name of words[0] === '*' ? n.routers : words) n.start(name);
        break;
      }
      case 'stop':
        network(line, text).shutdown(words[0] as string);
        break;
      case 'crash':
        network(line, text).crash(words[0] as string);
        break;
      case 'down':
        network(line, text).interfaceDown(words[0] as string);
        break;
      case 'up':
        network(line, text).interfaceUp(words[0] as string);
        break;
      case 'tracker': {
        const [name, tracker, state, ...rest] = words;
        if (state !== 'up' && state !== 'down') fail(line, text, 'tracker NAME TRACKER up|down [weight=N]');
        const kv = keyValues(rest, line, text);
        const weight = kv.has('weight') ? num(kv.get('weight'), line, text, 'weight') : undefined;
        network(line, text).tracker(name as string, tracker as string, state, weight);
        break;
      }
      case 'partition':
        network(line, text).partition(...words.map((g) => g.split(',')));
        break;
      case 'heal':
        network(line, text).heal();
        break;
      case 'run':
        network(line, text).runFor(num(words[0], line, text, 'run'));
        break;
      case 'until':
        network(line, text).runUntil(num(words[0], line, text, 'until'));
        break;
      case 'state': {
        const n = network(line, text);
        flush();
        for (const name of n.routers) {
          const state = n.state(name);
          if (state === 'down') {
            out.push(`${name}: down`);
            continue;
          }
          const s = n.machine(name).snapshot();
          const master = s.master ? `, master ${s.master.address} (prio ${s.master.priority})` : '';
          out.push(
            `${name}: ${state} prio ${s.effectivePriority}${s.vipsHeld ? ', holds the VIPs' : ''}${master}`,
          );
        }
        break;
      }
      default:
        fail(line, text, `unknown command ${cmd}`);
    }
    flush();
  }
  return `${out.join('\n')}\n`;
}
