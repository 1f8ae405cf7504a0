// Interoperability of the PROXY protocol codec with HAProxy, both ways, on loopback high ports:
// (a) the relay (and the bare encoder) send v1 and v2 headers to an HAProxy `accept-proxy` frontend, whose
//     log line shows the addresses it took from them;
// (b) HAProxy `send-proxy` / `send-proxy-v2` (with TLVs, and LOCAL health checks) talks to a listener that
//     uses our decoder.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProxyHeader, encodeProxyHeader, type ProxyHeader } from '../src/codec/proxy-protocol';
import { RelayDataPlane } from '../src/dataplane/index';
import {
  event,
  exchange,
  freePort,
  loopbackPrefix,
  makeTable,
  RELAY_ENGINES,
  settingsOf,
  startNode,
  type TestNode,
  until,
  updateOf,
} from './relay-harness';

const haproxyFound = spawnSync('haproxy', ['-v']).status === 0;
if (!haproxyFound && process.env.CI)
  throw new Error('haproxy is not installed: the PROXY protocol interoperability tests must run in CI');

/** CRC32C (Castagnoli), to check HAProxy's PP2_TYPE_CRC32C TLV against the bytes we decoded. */
function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe.skipIf(!haproxyFound)('PROXY protocol against HAProxy', () => {
  const prefix = loopbackPrefix();
  const at = (n: number) => `${prefix}.${n}`;
  let dir: string;
  let haproxy: ChildProcess;
  let output = '';
  let echo: TestNode;
  let ours: Server;
  const received: { header: ProxyHeader; raw: Uint8Array; payload: string }[] = [];
  const ports = { accept: 0, echo: 0, outV1: 0, outV2: 0, ours: 0 };

  beforeAll(async () => {
    ports.accept = await freePort(at(20));
    ports.echo = await freePort(at(21));
    ports.outV1 = await freePort(at(30));
    ports.outV2 = await freePort(at(30));
    ports.ours = await freePort(at(31));
    echo = await startNode('echo', at(21), ports.echo);
    // (b) our decoding listener: reads until the header is complete, records it, answers with the payload
    ours = createServer({ allowHalfOpen: true }, (s) => {
      let buf = new Uint8Array(0);
      let header: (typeof received)[number] | undefined;
      const chunks: Buffer[] = [];
      s.on('error', () => undefined);
      s.on('data', (c: Buffer) => {
        if (header !== undefined) return void chunks.push(c);
        buf = new Uint8Array([...buf, ...c]);
        const r = decodeProxyHeader(buf);
        if (!r.ok) return void s.destroy(r.error);
        if (!r.value.complete) return;
        header = { header: r.value.header, raw: buf.slice(0, r.value.length), payload: '' };
        received.push(header);
        chunks.push(Buffer.from(buf.subarray(r.value.length)));
      });
      s.on('end', () => {
        const payload = Buffer.concat(chunks).toString();
        if (header !== undefined) header.payload = payload;
        s.end(`ours:${payload}`);
      });
    });
    ours.listen(ports.ours, at(31));
    await new Promise((r) => ours.once('listening', r));
    dir = await mkdtemp(join(tmpdir(), 'pp-haproxy-'));
    const cfg = join(dir, 'haproxy.cfg');
    await writeFile(
      cfg,
      `global
  log stdout format raw local0
  nbthread 1
defaults
  mode tcp
  log global
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend accept
  bind ${at(20)}:${ports.accept} accept-proxy
  log-format "accepted %ci:%cp -> %fi:%fp authority=%[fc_pp_authority] id=%[fc_pp_unique_id]"
  default_backend echo
backend echo
  server echo ${at(21)}:${ports.echo}
frontend out_v1
  bind ${at(30)}:${ports.outV1}
  default_backend ours_v1
backend ours_v1
  server ours ${at(31)}:${ports.ours} send-proxy
frontend out_v2
  bind ${at(30)}:${ports.outV2}
  unique-id-format "uid-%ci-%cp"
  default_backend ours_v2
backend ours_v2
  server ours ${at(31)}:${ports.ours} send-proxy-v2 proxy-v2-options crc32c,unique-id check inter 100ms
`,
    );
    haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    haproxy.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    // ready when the frontends accept connections
    for (const port of [ports.accept, ports.outV1, ports.outV2]) {
      const host = port === ports.accept ? at(20) : at(30);
      for (let i = 0; ; i++) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = connect({ host, port });
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        });
        if (ok) break;
        if (haproxy.exitCode !== null || i > 400) throw new Error(`haproxy did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    // the readiness probes leave "Connection closed while waiting for PROXY protocol header" lines
    await until(() => /Connection closed while waiting/.test(output), 'haproxy logged the probe');
    output = '';
  });

  afterAll(async () => {
    haproxy?.kill('SIGTERM');
    if (haproxy && haproxy.exitCode === null) await new Promise((r) => haproxy.once('exit', r));
    await echo?.close();
    ours?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** HAProxy's `accepted` log lines so far. */
  const accepted = () => output.split('\n').filter((l) => l.startsWith('accepted '));

  it.each(
    RELAY_ENGINES.flatMap((engine) => [['v1', engine] as const, ['v2', engine] as const]),
  )('(a) HAProxy accept-proxy logs the client the relay announced in %s (%s engine)', async (v, engine) => {
    const vip = at(1);
    const vport = await freePort(vip);
    const relay = new RelayDataPlane(settingsOf(vip, vport, ports.accept), { proxyProtocol: v, engine });
    await relay.apply(
      updateOf(
        makeTable(['haproxy'], () => 0),
        [{ id: 'haproxy', host: at(20) }],
      ),
    );
    await relay.start();
    try {
      const client = at((v === 'v1' ? 101 : 102) + (engine === 'native' ? 10 : 0));
      const before = accepted().length;
      const s = connect({ host: vip, port: vport, localAddress: client, allowHalfOpen: true });
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => undefined);
      await event(s, 'connect');
      const clientPort = s.localPort;
      s.end(`through haproxy ${v}`);
      await event(s, 'close');
      expect(Buffer.concat(chunks).toString()).toBe(`echo:through haproxy ${v}`);
      await until(() => accepted().length > before, 'haproxy logged the connection');
      expect(accepted().slice(before)).toEqual([
        `accepted ${client}:${clientPort} -> ${vip}:${vport} authority=- id=-`,
      ]);
      expect(output).not.toMatch(/Truncated PROXY protocol header|PROXY protocol header|PROXY protocol/i);
    } finally {
      await relay.stop('destroy');
    }
  });

  it('(a) HAProxy accept-proxy takes TCP6 addresses and TLVs from the bare encoder', async () => {
    const before = accepted().length;
    const header = encodeProxyHeader({
      version: 2,
      command: 'proxy',
      addresses: {
        family: 'tcp6',
        sourceAddress: '2001:db8::42',
        sourcePort: 40000,
        destinationAddress: '2001:db8:1::80',
        destinationPort: 3128,
      },
      tlvs: [
        { type: 0x02, value: new TextEncoder().encode('proxy.example') },
        { type: 0x05, value: new TextEncoder().encode('req-7') },
        { type: 0xe0, value: Uint8Array.of(1, 2, 3) },
      ],
    });
    const s = connect({ host: at(20), port: ports.accept, allowHalfOpen: true });
    s.on('error', () => undefined);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    await event(s, 'connect');
    s.end(Buffer.concat([header, Buffer.from('payload')]));
    await event(s, 'close');
    expect(Buffer.concat(chunks).toString(), output).toBe('echo:payload');
    await until(() => accepted().length > before, 'haproxy logged the connection');
    expect(accepted().slice(before)).toEqual([
      'accepted 2001:db8::42:40000 -> 2001:db8:1::80:3128 authority=proxy.example id=req-7',
    ]);
  });

  it('(a) the check is meaningful: HAProxy reports a header that does not arrive in one piece', async () => {
    // HAProxy peeks at the first segment and wants the whole header there: the relay writes it at once
    const header = encodeProxyHeader({ version: 2, command: 'proxy', tlvs: [] });
    const s = connect({ host: at(20), port: ports.accept, noDelay: true });
    s.on('error', () => undefined);
    await event(s, 'connect');
    s.write(header.subarray(0, 10));
    await until(() => /Truncated PROXY protocol header/.test(output), 'haproxy logged the truncated header');
    s.destroy();
    output = output.replace(/.*PROXY protocol header.*\n?/g, '');
  });

  it.each([
    ['v1', 'outV1', 1],
    ['v2', 'outV2', 2],
  ] as const)('(b) our decoder reads HAProxy send-proxy %s', async (_v, port, version) => {
    const client = at(version === 1 ? 111 : 112);
    const count = received.length;
    const answer = await exchange(at(30), ports[port], client, `hello ${version}`);
    expect(answer).toBe(`ours:hello ${version}`);
    const got = received.slice(count).filter((r) => r.header.command === 'proxy');
    expect(got).toHaveLength(1);
    const { header, raw, payload } = got[0] as (typeof received)[number];
    expect(payload).toBe(`hello ${version}`);
    expect(header.version).toBe(version);
    expect(header.addresses).toMatchObject({
      family: 'tcp4',
      sourceAddress: client,
      destinationAddress: at(30),
      destinationPort: ports[port],
    });
    if (version === 2) {
      const types = header.tlvs.map((t) => t.type);
      expect(types).toContain(0x03);
      expect(types).toContain(0x05);
      const uid = header.tlvs.find((t) => t.type === 0x05)?.value as Uint8Array;
      expect(new TextDecoder().decode(uid)).toBe(`uid-${client}-${header.addresses?.sourcePort}`);
      // HAProxy's CRC32C covers the whole header with its own value zeroed: our bytes are its bytes
      const crcTlv = header.tlvs.find((t) => t.type === 0x03)?.value as Uint8Array;
      const sent = new DataView(crcTlv.buffer, crcTlv.byteOffset).getUint32(0);
      const zeroed = raw.slice();
      const at3 = zeroed.findIndex(
        (_b, i) => i >= 16 && zeroed[i] === 0x03 && zeroed[i + 1] === 0 && zeroed[i + 2] === 4,
      );
      zeroed.fill(0, at3 + 3, at3 + 7);
      expect(crc32c(zeroed)).toBe(sent);
    }
  });

  it('(b) our decoder reads the LOCAL headers of HAProxy send-proxy-v2 health checks', async () => {
    await until(() => received.some((r) => r.header.command === 'local'), 'a health check arrived');
    const local = received.find((r) => r.header.command === 'local') as (typeof received)[number];
    expect(local.header).toMatchObject({ version: 2, command: 'local', addresses: undefined });
  });
});
