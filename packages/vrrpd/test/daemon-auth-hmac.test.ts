import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '@proxyha/common';
import { type IpSocket, type MemoryHost, MemoryNetwork } from '@proxyha/netio';
import { encodeVrrp, MemoryVipManager, type RouterTransition, VrrpHmac } from '@proxyha/vrrp';
import { afterAll, describe, expect, it } from 'vitest';
import { parseVrrpDaemonConfig, RawTransport, VrrpDaemon } from '../src/index';
import { configIssues, useVirtualTime } from './helpers';

// authHmac (keepalived's auth_hmac, draft-cassen-vrrp-auth-hmac) in the daemon: daemons on the manual
// clock over netio's in-memory network (hosts a 192.168.77.11, b .12, and an attacker x .99 whose raw
// socket may claim any source address). Keys rotate and modes migrate by reload without a transition;
// forged, replayed and unsigned adverts are counted and logged and change nothing.

const dir = mkdtempSync(join(tmpdir(), 'proxyha-hmac-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY1 = `hex:${'11'.repeat(32)}`;
const KEY2 = `hex:${'22'.repeat(48)}`;
const keyFile = join(dir, 'vrrp51.key');
writeFileSync(keyFile, `${KEY2}\n`);
chmodSync(keyFile, 0o600);

const time = useVirtualTime();
const { daemons, until } = time;

function lan() {
  const net = new MemoryNetwork({ clock: time.clock });
  const host = (name: string, last: number) =>
    net.addHost(name, { interfaces: [{ name: 'eth0', ipv4: [`192.168.77.${last}/24`] }] });
  return { ha: host('a', 11), hb: host('b', 12), hx: host('x', 99) };
}

type Auth = object | undefined;

function node(host: MemoryHost, address: string, priority: number, auth: Auth) {
  const transitions: RouterTransition[] = [];
  const log = new MemoryLogger();
  const config = (a: Auth = auth) =>
    parseVrrpDaemonConfig({
      instances: [
        {
          name: 'VI_1',
          interface: 'eth0',
          vrid: 51,
          priority,
          advertInterval: '50ms',
          sourceAddress: address,
          virtualIps: ['192.168.77.74/24'],
          ...(a ? { authHmac: a } : {}),
        },
      ],
    });
  const d = new VrrpDaemon(config(), {
    clock: time.clock,
    vips: new MemoryVipManager(),
    links: host,
    transports: (inst, primary) =>
      new RawTransport({ interface: inst.interface, family: 'ipv4', source: primary, stack: host }),
    onTransition: (t) => transitions.push(t),
    logger: log,
  });
  daemons.push(d);
  const router = () => d.routers.get('VI_1');
  return {
    d,
    log,
    transitions,
    state: () => router()?.snapshot().state,
    /** Drops by code, as the SIGUSR2 statistics line shows them. */
    drops: () => router()?.rxStats.snapshot().byCode as Record<string, number>,
    received: () => router()?.rxStats.received ?? 0,
    async reload(a: Auth) {
      let done = false;
      const p = d.reload(config(a)).finally(() => {
        done = true;
      });
      await time.clock.until(() => done, 1000);
      const r = await p;
      expect(r.ok).toBe(true);
      return r;
    },
  };
}

/** a (150) master, b (100) backup, each with its own authHmac block. */
async function pair(authA: Auth, authB: Auth = authA) {
  const { ha, hb, hx } = lan();
  const a = node(ha, '192.168.77.11', 150, authA);
  const b = node(hb, '192.168.77.12', 100, authB);
  await a.d.start();
  await b.d.start();
  await until('a master', () => a.state() === 'master' && b.state() === 'backup');
  await time.clock.advanceAsync(200);
  return { a, b, hx };
}

const hmacCodes = (drops: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(drops ?? {}).filter(([c, n]) => c.startsWith('VRRP_HMAC_') && n > 0));

describe('authHmac configuration', () => {
  const inst = (authHmac: object, extra: object = {}) => ({
    instances: [
      { name: 'VI_1', interface: 'eth0', vrid: 51, virtualIps: ['192.168.77.74/24'], authHmac, ...extra },
    ],
  });

  it('accepts inline hex, passphrases and key files, with keepalived defaults', () => {
    const c = parseVrrpDaemonConfig(inst({ keys: [{ id: 1, key: KEY1 }] }));
    const a = c.instances[0]?.authHmac;
    expect(a).toMatchObject({ activeKey: 1, mode: 'enforce', antiReplay: 'time' });
    expect(a?.timeWindow).toBeUndefined(); // derived: max(3 x advert interval, 5 s)
    expect(Buffer.from(a?.keys[0]?.key as Uint8Array).toString('hex')).toBe('11'.repeat(32));
    const d = parseVrrpDaemonConfig(
      inst({
        keys: [
          { id: 1, key: 'a passphrase of at least thirty-two bytes' },
          { id: 7, keyFile },
        ],
        activeKey: 7,
        mode: 'receive-only',
        antiReplay: 'monotonic',
        timeWindow: '30s',
      }),
    );
    const b = d.instances[0]?.authHmac;
    expect(b).toMatchObject({
      activeKey: 7,
      mode: 'receive-only',
      antiReplay: 'monotonic',
      timeWindow: 30_000,
    });
    expect(new TextDecoder().decode(b?.keys[0]?.key)).toBe('a passphrase of at least thirty-two bytes');
    expect(b?.keys[1]).toMatchObject({ id: 7, keyFile });
    expect(Buffer.from(b?.keys[1]?.key as Uint8Array).toString('hex')).toBe('22'.repeat(48));
  });

  it('names the path of each problem and never shows a key', () => {
    const short = `hex:${'ab'.repeat(31)}`;
    const lines = configIssues(
      inst({
        keys: [
          { id: 1, key: short },
          { id: 1, key: 'too short' },
          { id: 2, keyFile: join(dir, 'missing.key') },
          { id: 3, key: KEY1, keyFile },
        ],
        mode: 'loose',
        timeWindow: '1500ms',
      }),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'instances[0].authHmac.keys[0].key: key is 31 bytes, a key needs 32 to 64 (openssl rand -hex 32)',
        'instances[0].authHmac.keys[1].key: key is 9 bytes, a key needs 32 to 64 (openssl rand -hex 32)',
        `instances[0].authHmac.keys[2].keyFile: cannot read key file ${join(dir, 'missing.key')} (ENOENT)`,
        'instances[0].authHmac.keys[3]: needs exactly one of key and keyFile',
        expect.stringMatching(/^instances\[0\]\.authHmac\.mode: /),
        'instances[0].authHmac.timeWindow: must be whole seconds from 1s to 300s, got 1500 ms',
      ]),
    );
    for (const l of lines) expect(l).not.toMatch(/abab|too short|1111/);
    const odd = join(dir, 'odd.key');
    writeFileSync(odd, 'hex:abc\n');
    expect(configIssues(inst({ keys: [{ id: 1, keyFile: odd }] }))).toEqual([
      `instances[0].authHmac.keys[0].keyFile: the key in ${odd}: hex: needs an even number of hex digits`,
    ]);
    expect(
      configIssues(
        inst({
          keys: [
            { id: 1, key: KEY1 },
            { id: 1, key: KEY1 },
          ],
          activeKey: 1,
        }),
      ),
    ).toEqual(['instances[0].authHmac.keys[1].id: key id 1 is used twice']);
    expect(
      configIssues(
        inst({
          keys: [
            { id: 1, key: KEY1 },
            { id: 2, key: KEY2 },
          ],
        }),
      ),
    ).toEqual(['instances[0].authHmac.activeKey: required with several keys']);
    expect(configIssues(inst({ keys: [{ id: 1, key: KEY1 }], activeKey: 3 }))).toEqual([
      'instances[0].authHmac.activeKey: no key with id 3',
    ]);
    expect(
      configIssues(
        inst({ keys: [{ id: 1, key: KEY1 }] }, { version: 2, advertInterval: '1s', authPassword: 'pw' }),
      ),
    ).toEqual(['instances[0].authPassword: authHmac replaces the v2 password: configure one of them']);
    expect(
      configIssues({ strict: true, ...inst({ keys: [{ id: 1, key: KEY1 }], mode: 'permissive' }) }),
    ).toEqual(['instances[0].authHmac.mode: strict mode requires mode enforce, got permissive']);
  });
});

describe('VrrpDaemon with authHmac (in-memory network, manual clock)', () => {
  const ring = (keys: [number, string][], activeKey: number, mode = 'enforce') => ({
    keys: keys.map(([id, key]) => ({ id, key })),
    activeKey,
    mode,
  });

  it('rotates keys by reload, one node at a time, without a transition or a dropped advert', async () => {
    const { a, b } = await pair(ring([[1, KEY1]], 1));
    const settled = [a.transitions.length, b.transitions.length];
    const steps: [Auth, Auth][] = [
      [ring([[1, KEY1]], 1), ring([[1, KEY1]], 1)],
      // 1. every node learns key 2 and keeps signing with key 1
      [
        ring(
          [
            [1, KEY1],
            [2, KEY2],
          ],
          1,
        ),
        ring([[1, KEY1]], 1),
      ],
      [
        ring(
          [
            [1, KEY1],
            [2, KEY2],
          ],
          1,
        ),
        ring(
          [
            [1, KEY1],
            [2, KEY2],
          ],
          1,
        ),
      ],
      // 2. each node signs with key 2 (the other already accepts it)
      [
        ring(
          [
            [1, KEY1],
            [2, KEY2],
          ],
          2,
        ),
        ring(
          [
            [1, KEY1],
            [2, KEY2],
          ],
          1,
        ),
      ],
      [
        ring(
          [
            [1, KEY1],
            [2, KEY2],
          ],
          2,
        ),
        ring(
          [
            [1, KEY1],
            [2, KEY2],
          ],
          2,
        ),
      ],
      // 3. key 1 retired everywhere
      [
        ring([[2, KEY2]], 2),
        ring(
          [
            [1, KEY1],
            [2, KEY2],
          ],
          2,
        ),
      ],
      [ring([[2, KEY2]], 2), ring([[2, KEY2]], 2)],
    ];
    for (const [i, [sa, sb]] of steps.entries()) {
      if (i === 0) continue;
      const [pa, pb] = steps[i - 1] as [Auth, Auth];
      if (JSON.stringify(sa) !== JSON.stringify(pa)) await a.reload(sa);
      if (JSON.stringify(sb) !== JSON.stringify(pb)) await b.reload(sb);
      const before = b.received();
      await time.clock.advanceAsync(500);
      expect(b.received()).toBeGreaterThan(before + 5); // a's adverts keep being accepted
    }
    expect(a.state()).toBe('master');
    expect(b.state()).toBe('backup');
    expect([a.transitions.length, b.transitions.length]).toEqual(settled);
    expect(hmacCodes(a.drops())).toEqual({});
    expect(hmacCodes(b.drops())).toEqual({});
    // b holds only key 2 now and still accepts a's adverts: a signs with key 2
    expect(b.d.routers.get('VI_1')?.hmac?.settings).toMatchObject({ activeKey: 2, keyIds: [2] });
    const info = a.log.lines('info');
    expect(info).toContain('Reloading: VI_1 authHmac keys 1 -> 1,2');
    expect(info).toContain('Reloading: VI_1 authHmac active key 1 -> 2');
    expect(info).toContain('Reloading: VI_1 authHmac keys 1,2 -> 2');
    expect(info).toContain(
      '(VI_1) authHmac mode enforce, active key 2, keys 1,2, anti-replay time, window 5 s',
    );
    for (const l of [...info, ...a.log.lines('debug')]) expect(l).not.toMatch(/1111|2222/);
  });

  it('retiring a key before the master stops signing with it is refused and makes the backup take over', async () => {
    // the control of the test above: the same steps in the wrong order do flap
    const { a, b } = await pair(
      ring(
        [
          [1, KEY1],
          [2, KEY2],
        ],
        1,
      ),
    );
    const settled = b.transitions.length;
    await b.reload(ring([[2, KEY2]], 2));
    await until('b master', () => b.state() === 'master');
    expect(b.transitions.length).toBeGreaterThan(settled);
    expect(b.drops()?.VRRP_HMAC_UNKNOWN_KEY).toBeGreaterThan(0);
    expect(b.log.lines('warn')).toContain('(VI_1) unknown authentication key id 1 from 192.168.77.11');
    // a still accepts key 2 and outranks b: it stays master too (a split brain, which is the point)
    expect(a.state()).toBe('master');
  });

  it('migrates none -> receive-only -> permissive -> enforce by reload without a transition', async () => {
    const { a, b } = await pair(undefined);
    const settled = [a.transitions.length, b.transitions.length];
    const k = (mode: string) => ({ keys: [{ id: 1, key: KEY1 }], mode });
    const plan: [typeof a, Auth][] = [
      [a, k('receive-only')],
      [b, k('receive-only')],
      [a, k('permissive')],
      [b, k('permissive')],
      [a, k('enforce')],
      [b, k('enforce')],
    ];
    for (const [n, auth] of plan) {
      await n.reload(auth);
      const before = b.received();
      await time.clock.advanceAsync(300);
      expect(b.received()).toBeGreaterThan(before + 3);
    }
    expect([a.transitions.length, b.transitions.length]).toEqual(settled);
    expect(hmacCodes(a.drops())).toEqual({});
    expect(hmacCodes(b.drops())).toEqual({});
    expect(b.log.lines('info')).toContain('Reloading: VI_1 authHmac added');
    expect(b.log.lines('info')).toContain('Reloading: VI_1 authHmac mode permissive -> enforce');
  });

  it('forged, replayed and unsigned adverts with priority 254 are counted and logged once and change nothing', async () => {
    const { a, b, hx } = await pair(ring([[1, KEY1]], 1));
    const settled = [a.transitions.length, b.transitions.length];
    // the attacker captures a's adverts from the group...
    const captured: Buffer[] = [];
    const sniff = await hx.openIpSocket({ family: 'ipv4', protocol: 112, interface: 'eth0' });
    sniff.joinGroup('224.0.0.18');
    sniff.onPacket((p) => {
      if (p.source === '192.168.77.11' && captured.length < 10) captured.push(p.payload);
    });
    await until('adverts captured', () => captured.length >= 10);
    sniff.close();
    // ...and sends from a socket that claims any source address it likes
    const raw = async (source: string) =>
      hx.openIpSocket({
        family: 'ipv4',
        protocol: 112,
        interface: 'eth0',
        ttl: 255,
        multicastTtl: 255,
        source,
      });
    const spoofA: IpSocket = await raw('192.168.77.11');
    const own: IpSocket = await raw('192.168.77.99');
    const forger = new VrrpHmac({ keys: [{ id: 1, key: new Uint8Array(32).fill(0x5a) }], activeKey: 1 });
    const prio254 = (source: string) =>
      encodeVrrp(
        {
          version: 3,
          family: 'ipv4',
          vrid: 51,
          priority: 254,
          addresses: ['192.168.77.74'],
          maxAdvertIntervalCs: 5,
        },
        { source },
      );
    for (let round = 0; round < 10; round++) {
      await spoofA.send(captured[round] as Buffer, '224.0.0.18'); // replayed, from a's address
      for (const [sock, src] of [
        [own, '192.168.77.99'],
        [spoofA, '192.168.77.11'],
      ] as const) {
        const seq = forger.nextSequence(time.clock.wallTime());
        const binding = { family: 'ipv4', version: 3, vrid: 51, source: src } as const;
        await sock.send(forger.seal(prio254(src), binding, seq), '224.0.0.18'); // forged: a wrong key
      }
      await own.send(prio254('192.168.77.99'), '224.0.0.18'); // unsigned
      await time.clock.advanceAsync(50);
    }
    await time.clock.advanceAsync(1000);
    expect(a.state()).toBe('master');
    expect(b.state()).toBe('backup');
    expect([a.transitions.length, b.transitions.length]).toEqual(settled);
    expect(hmacCodes(b.drops())).toEqual({
      VRRP_HMAC_REPLAY: 10,
      VRRP_HMAC_INVALID: 20,
      VRRP_HMAC_MISSING: 10,
    });
    // a: its own adverts coming back verify (it never saw them) and its machine discards them as its own
    expect(hmacCodes(a.drops())).toEqual({ VRRP_HMAC_INVALID: 20, VRRP_HMAC_MISSING: 10 });
    expect(b.log.lines('warn').filter((l) => /authentication/.test(l))).toEqual([
      '(VI_1) replayed authentication trailer from 192.168.77.11',
      '(VI_1) invalid authentication HMAC from 192.168.77.99',
      '(VI_1) invalid authentication HMAC from 192.168.77.11',
      '(VI_1) missing authentication trailer from 192.168.77.99',
    ]);
    spoofA.close();
    own.close();
  });
});
