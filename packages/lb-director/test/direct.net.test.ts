// The direct-routing data plane in namespaces: director d holds the VIP, n1..n3 carry it on lo (set up by
// DirectRoutingNodeSetup) and answer clients directly; the client c connects from many source addresses.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from '@proxyha/common';
import { describeNet, type Lab, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { DirectRoutingDataPlane, DirectRoutingNodeSetup } from '../src/dataplane/direct';
import type { DataPlaneNode, DataPlaneSettings } from '../src/dataplane/types';
import { clientBucket } from '../src/scheduler/scheduler';
import type { BucketTable } from '../src/scheduler/types';
import { until } from './lb-lab';

const VIP = '192.168.77.74';
const NAME_PORT = 9090;
const STREAM_PORT = 9091;
const STREAM_BYTES = 400_000;
const NODES = ['d', 'n1', 'n2', 'n3'] as const;
const CLIENTS = Array.from({ length: 40 }, (_, i) => `192.168.77.${100 + i}`);
const MASK = { ipv4PrefixLength: 32, ipv6PrefixLength: 128 };
const SIZE = 31;
const SEED = 0x70726f78;

const runner =
  (lab: Lab, node: string): CommandRunner =>
  (file, args, o) =>
    lab.exec(node, file, args, {
      allowFailure: true,
      timeoutMs: o?.timeoutMs ?? 10_000,
      ...(o?.input === undefined ? {} : { input: o.input }),
    });

/** A table over `owners` (node names, one per bucket, cycled); `null` buckets have no owner. */
function table(pattern: readonly (string | null)[]): BucketTable {
  const nodes = [...NODES].sort();
  const owners = new Uint16Array(SIZE);
  for (let b = 0; b < SIZE; b++) {
    const name = pattern[b % pattern.length] ?? null;
    owners[b] = name === null ? 0xffff : nodes.indexOf(name as (typeof NODES)[number]);
  }
  return { size: SIZE, seed: SEED, nodes, owners };
}

function ownerOf(t: BucketTable, client: string): string | undefined {
  const b = clientBucket(client, t, MASK) as number;
  const o = t.owners[b] as number;
  return o === 0xffff ? undefined : t.nodes[o];
}

function nodeMap(lab: Lab): Map<string, DataPlaneNode> {
  return new Map(NODES.map((n) => [n, { id: n, address: lab.node(n).ipv4, self: n === 'd' }]));
}

// python client: connect from `src`, print the first line (node name and the peer address it saw), wait
// for `gofile` (if given), send a line, read to EOF, print the byte count and the address it talked to
const CLIENT_PY = `
import os, socket, sys, time
src, port, gofile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((${JSON.stringify(VIP)}, port), timeout=60, source_address=(src, 0))
peer = s.getpeername()[0]
f = s.makefile('rb')
print(f.readline().decode().strip(), flush=True)
if gofile != '-':
    while not os.path.exists(gofile):
        time.sleep(0.02)
    s.sendall(b'go\\n')
data = f.read()
print('bytes', len(data), 'peer', peer, flush=True)
s.close()
`;

async function ask(lab: Lab, src: string): Promise<{ name: string; seen: string; peer: string }> {
  const r = await lab.exec('c', 'python3', ['-c', CLIENT_PY, src, String(NAME_PORT), '-'], {
    timeoutMs: 20_000,
  });
  const [first = '', second = ''] = r.stdout.trim().split('\n');
  const [name = '', seen = ''] = first.split(' ');
  return { name, seen, peer: second.split(' ')[3] ?? '' };
}

async function askAll(lab: Lab, clients: readonly string[]) {
  const out = new Map<string, { name: string; seen: string; peer: string }>();
  // a few at a time: 2 shared cores
  for (let i = 0; i < clients.length; i += 8)
    await Promise.all(
      clients.slice(i, i + 8).map(async (c) => {
        out.set(c, await ask(lab, c));
      }),
    );
  return out;
}

async function sysctl(lab: Lab, node: string, key: string): Promise<string> {
  return (await lab.exec(node, 'sysctl', ['-n', key])).stdout.trim();
}

async function setUp(lab: Lab) {
  await lab.exec('d', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
  for (const a of CLIENTS) await lab.exec('c', 'ip', ['addr', 'add', `${a}/24`, 'dev', 'eth0']);
  const setups = new Map<string, DirectRoutingNodeSetup>();
  for (const n of NODES) {
    if (n !== 'd') {
      const s = new DirectRoutingNodeSetup({
        virtualIps: [`${VIP}/24`],
        interface: 'eth0',
        run: runner(lab, n),
      });
      await s.start();
      setups.set(n, s);
    }
    const env = { NAME: n };
    lab.spawn(n, 'socat', [`TCP-LISTEN:${NAME_PORT},reuseaddr,fork`, 'SYSTEM:echo $NAME $SOCAT_PEERADDR'], {
      name: `name:${n}`,
      env,
    });
    lab.spawn(
      n,
      'socat',
      [
        `TCP-LISTEN:${STREAM_PORT},reuseaddr,fork`,
        `SYSTEM:echo $NAME $SOCAT_PEERADDR; read x; head -c ${STREAM_BYTES} /dev/zero`,
      ],
      { name: `stream:${n}`, env },
    );
  }
  for (const n of NODES) {
    await lab.waitForTcp(n, '127.0.0.1', NAME_PORT);
    await lab.waitForTcp(n, '127.0.0.1', STREAM_PORT);
  }
  const settings: DataPlaneSettings = {
    virtualIps: [`${VIP}/24`],
    redirects: [
      { originalPort: NAME_PORT, destinationPort: NAME_PORT },
      { originalPort: STREAM_PORT, destinationPort: STREAM_PORT },
    ],
    persistence: MASK,
    interface: 'eth0',
    managementIp: lab.node('d').ipv4,
  };
  const dp = new DirectRoutingDataPlane(settings, { run: runner(lab, 'd'), pinTimeoutMs: 120_000 });
  return { dp, setups };
}

/** Starts a long transfer from `src` (port STREAM_PORT); resolves once the node named itself. */
async function startTransfer(lab: Lab, src: string) {
  const dir = await lab.runDir('go');
  const gofile = join(dir, `go-${src}`);
  const p = lab.spawn('c', 'python3', ['-c', CLIENT_PY, src, String(STREAM_PORT), gofile], {
    name: `transfer:${src}`,
  });
  const m = await p.waitForOutput(/^(\S+) (\S+)$/m, 20_000);
  return {
    node: m[1] as string,
    seen: m[2] as string,
    async finish(): Promise<string> {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(gofile, '');
      await p.waitForOutput(/bytes \d+ peer \S+/, 60_000);
      expect(existsSync(gofile)).toBe(true);
      return p.stdout();
    },
  };
}

describeNet('direct-routing data plane', () => {
  it('forwards by the kernel jhash, replies come from the nodes, pins survive changes, drains, cleans up', () =>
    withLab({ nodes: [...NODES, 'c'] }, async (lab) => {
      const { dp, setups } = await setUp(lab);
      for (const n of ['n1', 'n2', 'n3']) {
        expect(await sysctl(lab, n, 'net.ipv4.conf.all.arp_ignore')).toBe('1');
        expect(await sysctl(lab, n, 'net.ipv4.conf.eth0.arp_announce')).toBe('2');
        expect((await lab.exec(n, 'ip', ['-4', 'addr', 'show', 'dev', 'lo'])).stdout).toContain(`${VIP}/32`);
      }
      // a stale table of ours is replaced at start
      await lab.exec('d', 'nft', ['add', 'table', 'netdev', dp.tableName]);
      await lab.exec('d', 'nft', ['add', 'chain', 'netdev', dp.tableName, 'junk']);
      await dp.start();
      const chains = (await lab.exec('d', 'nft', ['-j', 'list', 'chains', 'netdev'])).stdout;
      expect(chains).not.toContain('"junk"');

      // 1. every client lands on the node the table names: kernel jhash == clientBucket
      const t1 = table(['n1', 'n2', 'n3', 'd']);
      await dp.apply({ table: t1, nodes: nodeMap(lab), changedBuckets: 'all' });
      const back = await dp.readBack();
      expect(back.buckets.size).toBe(SIZE);
      expect(back.buckets.get(0)).toBe(lab.node('n1').mac);
      expect(back.buckets.get(3)).toBe(lab.node('d').mac);
      const capture = await lab.capture('c', `tcp src port ${NAME_PORT}`);
      const answers = await askAll(lab, CLIENTS);
      const frames = await capture.dissect();
      const landed = new Set<string>();
      for (const c of CLIENTS) {
        const a = answers.get(c);
        expect(a?.name, `client ${c}`).toBe(ownerOf(t1, c));
        expect(a?.seen, `the node sees the real client address of ${c}`).toBe(c);
        expect(a?.peer, `the client of ${c} talks to the VIP`).toBe(VIP);
        landed.add(a?.name as string);
      }
      expect([...landed].sort()).toEqual(['d', 'n1', 'n2', 'n3']);
      // replies come straight from the nodes: each reply frame's source MAC is the answering node's
      const macOf = new Map(NODES.map((n) => [lab.node(n).mac, n]));
      const repliers = new Set<string>();
      for (const f of frames) {
        const src = String((f.eth as Record<string, unknown>)?.['eth.src'] ?? '');
        const ipSrc = String((f.ip as Record<string, unknown>)?.['ip.src'] ?? '');
        expect(ipSrc).toBe(VIP);
        repliers.add(macOf.get(src) ?? `unknown ${src}`);
      }
      expect([...repliers].sort()).toEqual(['d', 'n1', 'n2', 'n3']);

      // 2. an open long transfer survives a table change (pin); the same client's new connection follows
      // the new table meanwhile
      const moved = CLIENTS.find((c) => ownerOf(t1, c) === 'n1') as string;
      const transfer = await startTransfer(lab, moved);
      expect(transfer.node).toBe('n1');
      expect(transfer.seen).toBe(moved);
      const t2 = table(['n2', 'n3', 'd', 'n1']); // every bucket changes owner
      await dp.apply({ table: t2, nodes: nodeMap(lab), changedBuckets: 'all' });
      const now = ownerOf(t2, moved);
      expect(now).not.toBe('n1');
      expect((await ask(lab, moved)).name).toBe(now);
      const out = await transfer.finish();
      expect(out).toContain(`bytes ${STREAM_BYTES} peer ${VIP}`);

      // 3. drain n2: it gets no new connection once the table is applied; its open connection completes,
      // then its pin is released
      const onN2 = CLIENTS.find((c) => ownerOf(t2, c) === 'n2') as string;
      const open = await startTransfer(lab, onN2);
      expect(open.node).toBe('n2');
      const n2Mac = lab.node('n2').mac;
      expect((await dp.readBack()).pins).toContain(n2Mac);
      const t3 = table(['n1', 'n3', 'd', 'n3', null]);
      await dp.apply({ table: t3, nodes: nodeMap(lab), changedBuckets: 'all' });
      expect([...(await dp.readBack()).buckets.values()]).not.toContain(n2Mac);
      const after = await askAll(lab, CLIENTS);
      for (const c of CLIENTS) {
        const owner = ownerOf(t3, c);
        // no owner: delivered to the director's own stack
        expect(after.get(c)?.name, `client ${c} after the drain`).toBe(owner ?? 'd');
        expect(after.get(c)?.name).not.toBe('n2');
      }
      expect(await open.finish()).toContain(`bytes ${STREAM_BYTES} peer ${VIP}`);
      await until(
        'the drained node has no live pin left',
        async () => !(await dp.readBack()).pins.includes(n2Mac),
        20_000,
      );
      const stats = await dp.refreshStats();
      expect(stats.activeByNode.get('n2') ?? 0).toBe(0);
      // every SYN is counted once: by the table (accepted) or as unowned (failed, delivered locally)
      const unowned = CLIENTS.filter((c) => ownerOf(t3, c) === undefined).length;
      expect(unowned).toBeGreaterThan(0);
      expect(stats.failed).toBeGreaterThanOrEqual(unowned);
      expect(stats.accepted + stats.failed).toBeGreaterThanOrEqual(CLIENTS.length * 2 + 3);

      // 4. stop leaves nothing behind
      await dp.stop();
      await dp.stop();
      expect((await lab.exec('d', 'nft', ['-j', 'list', 'ruleset'])).stdout).not.toContain(
        'proxyha_lb_direct',
      );
      expect((await ask(lab, CLIENTS[0] as string)).name).toBe('d');
      for (const [n, s] of setups) {
        await s.stop();
        await s.stop();
        expect(await sysctl(lab, n, 'net.ipv4.conf.all.arp_ignore')).toBe('0');
        expect(await sysctl(lab, n, 'net.ipv4.conf.all.arp_announce')).toBe('0');
        expect(await sysctl(lab, n, 'net.ipv4.conf.eth0.arp_ignore')).toBe('0');
        expect(await sysctl(lab, n, 'net.ipv4.conf.eth0.arp_announce')).toBe('0');
        expect((await lab.exec(n, 'ip', ['-4', 'addr', 'show', 'dev', 'lo'])).stdout).not.toContain(VIP);
      }
    }));
});
