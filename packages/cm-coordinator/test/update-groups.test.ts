// Update groups: the pure machine, case by case (named after the behaviour they pin down), the version order,
// the message checks, and the configuration of the `updates` section.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CmError,
  checkUpdateMessage,
  compareUpdateVersions,
  parseCmConfig,
  type UpdateAction,
  type UpdateListVersion,
  UpdateMachine,
  type UpdateMachineConfig,
  type UpdateMessage,
} from '../src/index';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const D = '00000000-0000-4000-8000-00000000000d';
const V1: UpdateListVersion = { list: 'urlfilter', version: '2026.11.30', sha256: '1'.repeat(64), size: 10 };
const V2: UpdateListVersion = { list: 'urlfilter', version: '2026.12.1', sha256: '2'.repeat(64), size: 20 };

function machine(o: Partial<UpdateMachineConfig> = {}): UpdateMachine {
  return new UpdateMachine({
    self: { uuid: A, name: 'a' },
    groups: ['tokyo'],
    lists: ['urlfilter'],
    downloadFromInternet: true,
    acceptFromNodes: true,
    intervalMs: 60_000,
    firstCheckMs: 1000,
    collectMs: 500,
    retryMs: 10_000,
    ...o,
  });
}

const sends = (actions: readonly UpdateAction[]) =>
  actions.flatMap((a) => (a.type === 'send' ? [`${a.to.slice(-1)}:${a.message.type}`] : []));
const kinds = (actions: readonly UpdateAction[]) => actions.map((a) => a.type);
const recv = (m: UpdateMachine, from: string, message: UpdateMessage, at = 10) =>
  m.step({ type: 'received', at, from, message });

/** A machine with peers B (tokyo) and C (newyork) connected and their hellos in. */
function withPeers(o: Partial<UpdateMachineConfig> = {}): UpdateMachine {
  const m = machine(o);
  m.step({ type: 'peerUp', at: 0, peer: B, name: 'b' });
  m.step({ type: 'peerUp', at: 0, peer: C, name: 'c' });
  recv(m, B, { type: 'update-hello', groups: ['tokyo'] }, 1);
  recv(m, C, { type: 'update-hello', groups: ['newyork'] }, 1);
  return m;
}

const state = (lists: UpdateListVersion[], downloading: UpdateListVersion[] = [], accept = true) =>
  ({ type: 'update-state', accept, lists, downloading }) as const;

describe('UpdateMachine', () => {
  it('hello: says its update groups to every peer; tells its state only to members', () => {
    const m = machine({ held: [{ ...V1, from: 'internet', at: 0 }] });
    expect(sends(m.step({ type: 'peerUp', at: 0, peer: B, name: 'b' }))).toEqual(['b:update-hello']);
    expect(sends(m.step({ type: 'peerUp', at: 0, peer: C, name: 'c' }))).toEqual(['c:update-hello']);
    const toB = recv(m, B, { type: 'update-hello', groups: ['tokyo', 'other'] });
    expect(toB).toEqual([{ type: 'send', to: B, message: state([V1]) }]);
    expect(recv(m, C, { type: 'update-hello', groups: ['newyork'] })).toEqual([]);
    expect(m.isMember(B)).toBe(true);
    expect(m.isMember(C)).toBe(false);
  });

  it('interval check off: without downloadFromInternet nothing is done, whatever the interval', () => {
    const m = withPeers({ downloadFromInternet: false });
    const all: UpdateAction[] = [];
    for (let t = 0; t <= 300_000; t += 1000) all.push(...m.step({ type: 'tick', at: t }));
    expect(all).toEqual([]);
    expect(m.snapshot().stats).toMatchObject({ checks: 0, checksSkipped: 5 });
  });

  it('interval check: asks the members (not the others) and the source, decides after the reports, downloads once', () => {
    const m = withPeers();
    const start = m.step({ type: 'tick', at: 1000 });
    expect(kinds(start)).toEqual(['send', 'checkSource']);
    const query = start[0] as Extract<UpdateAction, { type: 'send' }>;
    expect(query.to).toBe(B);
    expect(query.message).toMatchObject({
      type: 'update-query',
      origin: A,
      path: [A],
      hops: 8,
      download: true,
    });
    const id = (query.message as { id: string }).id;
    recv(
      m,
      B,
      {
        type: 'update-report',
        query: id,
        origin: A,
        route: [],
        node: B,
        name: 'b',
        accept: true,
        checking: false,
        lists: [V1],
        downloading: [],
      },
      1100,
    );
    expect(
      m.step({ type: 'sourceChecked', at: 1200, list: 'urlfilter', result: { ok: true, value: V2 } }),
    ).toEqual([]);
    const decided = m.step({ type: 'tick', at: 2000 });
    expect(kinds(decided)).toEqual(['log', 'download', 'log', 'send']);
    expect(decided[0]).toMatchObject({
      message: expect.stringMatching(/1 member\(s\) answered, 1 accept.*1 need urlfilter 2026\.12\.1/),
    });
    expect(decided[1]).toEqual({ type: 'download', key: V2 });
    // members learn that it is downloading (they wait instead of downloading too)
    expect(decided[3]).toEqual({ type: 'send', to: B, message: state([], [V2]) });
    // the next ticks do not download again
    expect(kinds(m.step({ type: 'tick', at: 3000 }))).toEqual([]);
    const done = m.step({ type: 'downloaded', at: 3100, key: V2 });
    expect(kinds(done)).toEqual(['installed', 'log', 'send']);
    expect(done[0]).toMatchObject({ held: { ...V2, from: 'internet', at: 3100 }, previous: undefined });
    expect(done[2]).toEqual({ type: 'send', to: B, message: state([V2]) });
    expect(m.snapshot().stats).toMatchObject({ checks: 1, downloads: 1, installs: 1 });
  });

  it('interval check: current already, nothing downloaded; the next check one interval later', () => {
    const m = withPeers({ held: [{ ...V2, from: 'internet', at: 0 }] });
    m.step({ type: 'tick', at: 1000 });
    m.step({ type: 'sourceChecked', at: 1100, list: 'urlfilter', result: { ok: true, value: V2 } });
    expect(kinds(m.step({ type: 'tick', at: 2000 }))).toEqual(['log']);
    expect(m.snapshot().nextCheckAt).toBe(61_000);
    expect(kinds(m.step({ type: 'tick', at: 60_000 }))).toEqual([]);
    expect(kinds(m.step({ type: 'tick', at: 61_000 }))).toEqual(['send', 'checkSource']);
  });

  it('a neighbour member holds the published version: fetched from it, not downloaded', () => {
    const m = withPeers();
    const fetch = recv(m, B, state([V2]));
    expect(fetch).toEqual([{ type: 'fetch', key: V2, from: B }]);
    m.step({ type: 'tick', at: 1000 });
    m.step({ type: 'sourceChecked', at: 1100, list: 'urlfilter', result: { ok: true, value: V2 } });
    expect(kinds(m.step({ type: 'tick', at: 2000 }))).toEqual(['log']);
    expect(m.snapshot().stats.downloads).toBe(0);
  });

  it('a non-member neighbour that holds a newer version is never fetched from, nor told anything', () => {
    const m = withPeers();
    expect(recv(m, C, state([V2]))).toEqual([]);
    expect(m.snapshot().stats.refused).toBe(1);
  });

  it('serve: a member gets the bytes it asks for; a non-member is refused; an unknown version is refused', () => {
    const m = withPeers({ held: [{ ...V2, from: 'internet', at: 0 }] });
    const get = {
      type: 'update-get',
      list: 'urlfilter',
      version: V2.version,
      sha256: V2.sha256,
      offset: 5,
    } as const;
    expect(recv(m, B, get)).toEqual([{ type: 'serve', to: B, key: V2, offset: 5 }]);
    const refused = recv(m, C, get);
    expect(refused).toEqual([
      {
        type: 'send',
        to: C,
        message: expect.objectContaining({
          type: 'update-refuse',
          reason: expect.stringMatching(/not in an update group of a \(tokyo\)/),
        }),
      },
    ]);
    expect(kinds(recv(m, B, { ...get, version: V1.version, sha256: V1.sha256 }))).toEqual(['send']);
    expect(m.snapshot().stats.serves).toBe(1);
  });

  it('query relay: answered back to the sender, passed on to members not on the path, never to non-members; hop limit', () => {
    const m = machine({ self: { uuid: B, name: 'b' }, downloadFromInternet: false });
    for (const [p, g] of [
      [A, 'tokyo'],
      [C, 'tokyo'],
      [D, 'newyork'],
    ] as const) {
      m.step({ type: 'peerUp', at: 0, peer: p, name: p.slice(-1) });
      recv(m, p, { type: 'update-hello', groups: [g] }, 1);
    }
    const q = {
      type: 'update-query',
      id: 'q1',
      origin: A,
      groups: ['tokyo'],
      path: [A],
      hops: 2,
      download: true,
    } as const;
    const out = recv(m, A, q);
    expect(out).toEqual([
      {
        type: 'send',
        to: A,
        message: expect.objectContaining({
          type: 'update-report',
          query: 'q1',
          origin: A,
          route: [],
          node: B,
          accept: true,
        }),
      },
      { type: 'send', to: C, message: { ...q, path: [A, B], hops: 1 } },
    ]);
    // the same query again (through another way): dropped
    expect(recv(m, C, { ...q, path: [A, C], hops: 1 })).toEqual([]);
    expect(m.snapshot().stats.duplicateQueries).toBe(1);
    // no hops left: answered, not passed on
    expect(sends(recv(m, A, { ...q, id: 'q2', hops: 0 }))).toEqual(['a:update-report']);
    // a report from behind C goes back towards the origin
    const report = {
      type: 'update-report',
      query: 'q1',
      origin: A,
      route: [A],
      node: D,
      name: 'far',
      accept: false,
      checking: false,
      lists: [],
      downloading: [],
    } as const;
    expect(recv(m, C, report)).toEqual([{ type: 'send', to: A, message: { ...report, route: [] } }]);
    // a query of another update group is not answered
    expect(recv(m, A, { ...q, id: 'q3', groups: ['newyork'] })).toEqual([]);
  });

  it('concurrent checks: a lower uuid that also checks (and lacks it) downloads; this node waits, then fetches from it', () => {
    const m = machine({ self: { uuid: C, name: 'c' } });
    m.step({ type: 'peerUp', at: 0, peer: A, name: 'a' });
    recv(m, A, { type: 'update-hello', groups: ['tokyo'] }, 1);
    const start = m.step({ type: 'tick', at: 1000 });
    const id = (start[0] as { message: { id: string } }).message.id;
    // A checks at the same moment: its query arrives, and its report says it lacks the version
    recv(
      m,
      A,
      { type: 'update-query', id: 'a-1', origin: A, groups: ['tokyo'], path: [A], hops: 8, download: true },
      1010,
    );
    recv(
      m,
      A,
      {
        type: 'update-report',
        query: id,
        origin: C,
        route: [],
        node: A,
        name: 'a',
        accept: true,
        checking: true,
        lists: [],
        downloading: [],
      },
      1020,
    );
    m.step({ type: 'sourceChecked', at: 1100, list: 'urlfilter', result: { ok: true, value: V2 } });
    const decided = m.step({ type: 'tick', at: 2000 });
    expect(kinds(decided)).toEqual(['log', 'log']);
    expect(decided[1]).toMatchObject({ message: expect.stringMatching(/lower uuid downloads it; waiting/) });
    // A got it and says so: fetched from A
    expect(recv(m, A, state([V2]), 2500)).toEqual([{ type: 'fetch', key: V2, from: A }]);
    expect(m.snapshot().stats.downloads).toBe(0);
  });

  it('a member downloading the same version: wait for it; after a whole interval without it, download', () => {
    const m = withPeers();
    recv(m, B, state([], [V2]));
    m.step({ type: 'tick', at: 1000 });
    m.step({ type: 'sourceChecked', at: 1100, list: 'urlfilter', result: { ok: true, value: V2 } });
    expect(kinds(m.step({ type: 'tick', at: 2000 }))).toEqual(['log', 'log']);
    m.step({ type: 'tick', at: 61_000 });
    m.step({ type: 'sourceChecked', at: 61_100, list: 'urlfilter', result: { ok: true, value: V2 } });
    expect(kinds(m.step({ type: 'tick', at: 62_000 }))).toContain('download');
  });

  it('returning node: on reconnect it hears its members’ state and fetches what is newer', () => {
    const m = machine({ downloadFromInternet: false, held: [{ ...V1, from: 'internet', at: 0 }] });
    m.step({ type: 'peerUp', at: 0, peer: B, name: 'b' });
    expect(sends(recv(m, B, { type: 'update-hello', groups: ['tokyo'] }))).toEqual(['b:update-state']);
    expect(recv(m, B, state([V2]))).toEqual([{ type: 'fetch', key: V2, from: B }]);
    const done = m.step({ type: 'fetched', at: 50, key: V2, from: B });
    expect(done[0]).toMatchObject({ type: 'installed', held: { ...V2, from: 'b' }, previous: { ...V1 } });
  });

  it('dedupe: one (list, version, sha256) is fetched once and installed once, whoever else offers it', () => {
    const m = withPeers();
    m.step({ type: 'peerUp', at: 0, peer: D, name: 'd' });
    recv(m, D, { type: 'update-hello', groups: ['tokyo'] });
    expect(kinds(recv(m, B, state([V2])))).toEqual(['fetch']);
    expect(recv(m, D, state([V2]))).toEqual([]); // already on its way
    expect(kinds(m.step({ type: 'fetched', at: 20, key: V2, from: B }))).toEqual([
      'installed',
      'log',
      'send',
      'send',
    ]);
    expect(m.step({ type: 'fetched', at: 30, key: V2, from: D })).toEqual([]);
    expect(m.step({ type: 'downloaded', at: 40, key: V2 })).toEqual([]);
    expect(m.snapshot().stats).toMatchObject({ fetches: 1, installs: 1 });
  });

  it('the peer leaves mid-transfer: cancelled, fetched from another member that has it', () => {
    const m = withPeers();
    m.step({ type: 'peerUp', at: 0, peer: D, name: 'd' });
    recv(m, D, { type: 'update-hello', groups: ['tokyo'] });
    recv(m, B, state([V2]));
    recv(m, D, state([V2]));
    const out = m.step({ type: 'peerDown', at: 100, peer: B });
    expect(kinds(out)).toEqual(['cancel', 'log', 'fetch']);
    expect(out[2]).toEqual({ type: 'fetch', key: V2, from: D });
  });

  it('bad integrity from a member: not installed, that member not asked again before retryMs', () => {
    const m = withPeers({ downloadFromInternet: false });
    recv(m, B, state([V2]));
    const failed = m.step({ type: 'fetched', at: 100, key: V2, from: B, error: 'CM_UPDATE_INTEGRITY: bad' });
    expect(kinds(failed)).toEqual(['log']);
    expect(m.held('urlfilter')).toBeUndefined();
    expect(m.snapshot().lists[0]?.lastError).toMatch(/CM_UPDATE_INTEGRITY/);
    expect(m.step({ type: 'tick', at: 5000 })).toEqual([]);
    expect(m.step({ type: 'tick', at: 10_100 })).toEqual([{ type: 'fetch', key: V2, from: B }]);
  });

  it('bad integrity from the internet: discarded, downloaded again after retryMs', () => {
    const m = withPeers();
    m.step({ type: 'tick', at: 1000 });
    m.step({ type: 'sourceChecked', at: 1100, list: 'urlfilter', result: { ok: true, value: V2 } });
    expect(kinds(m.step({ type: 'tick', at: 2000 }))).toContain('download');
    expect(kinds(m.step({ type: 'downloaded', at: 2500, key: V2, error: 'CM_UPDATE_INTEGRITY: x' }))).toEqual(
      ['log', 'send'],
    );
    expect(kinds(m.step({ type: 'tick', at: 12_000 }))).not.toContain('download');
    expect(kinds(m.step({ type: 'tick', at: 12_500 }))).toContain('download');
  });

  it('acceptFromNodes off: never fetches from members, downloads itself', () => {
    const m = withPeers({ acceptFromNodes: false });
    expect(recv(m, B, state([V2]))).toEqual([]);
    m.step({ type: 'tick', at: 1000 });
    m.step({ type: 'sourceChecked', at: 1100, list: 'urlfilter', result: { ok: true, value: V2 } });
    expect(kinds(m.step({ type: 'tick', at: 2000 }))).toContain('download');
  });

  it('a source that cannot be checked: logged, nothing downloaded, checked again at the next interval', () => {
    const m = withPeers();
    m.step({ type: 'tick', at: 1000 });
    const out = m.step({
      type: 'sourceChecked',
      at: 1100,
      list: 'urlfilter',
      result: { ok: false, error: 'CM_UPDATE_MANIFEST: 404' },
    });
    expect(out[0]).toMatchObject({ level: 'warn', message: expect.stringMatching(/UpdateCheckFailed.*404/) });
    expect(kinds(m.step({ type: 'tick', at: 2000 }))).toEqual(['log']);
    expect(m.snapshot().lists[0]?.lastError).toMatch(/404/);
  });

  it('refuses an invalid configuration, naming the path', () => {
    expect(() => machine({ groups: [] })).toThrow(/groups/);
    expect(() => machine({ self: { uuid: 'x', name: 'a' } })).toThrow(
      expect.objectContaining({ code: 'CM_INVALID_ARGUMENT', message: expect.stringMatching(/self\.uuid/) }),
    );
  });
});

describe('compareUpdateVersions', () => {
  it('orders numbers as numbers, then text, prefixes first', () => {
    expect(compareUpdateVersions('2026.9', '2026.10')).toBeLessThan(0);
    expect(compareUpdateVersions('1.2', '1.2.1')).toBeLessThan(0);
    expect(compareUpdateVersions('007', '7')).toBe(0);
    expect(compareUpdateVersions('1.0-b', '1.0-a')).toBeGreaterThan(0);
    expect(compareUpdateVersions('10', '9')).toBeGreaterThan(0);
  });

  it('is antisymmetric and reflexive', () => {
    const v = fc.stringMatching(/^[0-9a-z.+-]{1,12}$/);
    fc.assert(
      fc.property(v, v, (a, b) => {
        expect(Math.sign(compareUpdateVersions(a, b))).toBe(-Math.sign(compareUpdateVersions(b, a)));
        expect(compareUpdateVersions(a, a)).toBe(0);
      }),
    );
  });
});

describe('checkUpdateMessage', () => {
  it('accepts the messages and names the bad path of others; never throws', () => {
    expect(checkUpdateMessage({ type: 'update-hello', groups: ['tokyo'] }).ok).toBe(true);
    const bad = checkUpdateMessage({
      type: 'update-get',
      list: 'urlfilter',
      version: '../x',
      sha256: 'z',
      offset: -1,
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.code).toBe('CM_BAD_MESSAGE');
      expect((bad.error.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(
        expect.arrayContaining(['version', 'sha256', 'offset']),
      );
    }
    expect(checkUpdateMessage({ type: 'update-nope' }).ok).toBe(false);
    fc.assert(fc.property(fc.anything(), (v) => void checkUpdateMessage(v)));
  });
});

describe('configuration: updates and update groups', () => {
  const base = { name: 'mwg1', listen: '127.0.0.1:0', dataDir: '/tmp/x', ca: { cert: 'c', key: 'k' } };
  const pub = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('defaults: update group default, nothing downloaded from the internet, accepted from nodes, 15 min', () => {
    const c = parseCmConfig(base);
    expect(c.groups.update).toEqual(['default']);
    expect(c.updates).toEqual({
      automatic: true,
      intervalMs: 900_000,
      downloadFromInternet: false,
      acceptFromNodes: true,
      sources: [],
    });
  });

  it('reads the switches, the interval, pinned and signed sources; one update group or several', () => {
    const c = parseCmConfig({
      ...base,
      groups: { network: ['toknet1'], update: 'tokyo' },
      updates: {
        interval: '30m',
        downloadFromInternet: true,
        acceptFromNodes: false,
        sources: [
          { name: 'urlfilter', url: 'https://u.example/f.db', sha256: 'AB'.repeat(32), apply: ['/bin/true'] },
          { name: 'av', url: 'http://u.example/av', manifest: 'http://u.example/av.json', publicKey: pub },
        ],
      },
    });
    expect(c.groups.update).toEqual(['tokyo']);
    expect(c.updates.intervalMs).toBe(1_800_000);
    expect(c.updates.sources[0]).toMatchObject({
      sha256: 'ab'.repeat(32),
      version: `sha256:${'ab'.repeat(6)}`,
    });
    expect(c.updates.sources[1]).toMatchObject({ manifest: 'http://u.example/av.json', sha256: undefined });
    expect(parseCmConfig({ ...base, groups: { update: ['a', 'b', 'a'] } }).groups.update).toEqual(['a', 'b']);
  });

  it('refuses bad sources with every path named', () => {
    let error: CmError | undefined;
    try {
      parseCmConfig({
        ...base,
        updates: {
          interval: 'soon',
          sources: [
            { name: 'a', url: 'ftp://x/y' },
            {
              name: 'b',
              url: 'https://x/y',
              sha256: 'ab'.repeat(32),
              publicKey: pub,
              manifest: 'https://x/m',
            },
            { name: 'c', url: 'https://x/y', publicKey: 'not a key' },
            { name: 'a', url: 'https://x/y', sha256: 'ab'.repeat(32) },
          ],
        },
      });
    } catch (e) {
      error = e as CmError;
    }
    expect(error?.code).toBe('CM_CONFIG_INVALID');
    const paths = (error?.details as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'updates.interval',
        'updates.sources[0].url',
        'updates.sources[0].sha256',
        'updates.sources[1].sha256',
        'updates.sources[2].publicKey',
        'updates.sources[3].name',
      ]),
    );
  });
});
