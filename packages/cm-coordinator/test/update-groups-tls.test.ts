// Update groups with real CmNodes over mutual TLS on loopback (127.0.0.91..95) and a local HTTP server on
// 127.0.0.1 as the update server: the guide's two-site layout (update groups tokyo and newyork, one transit
// node each). A download on a Tokyo leaf is cut mid-transfer and resumed (Range), verified, put in place,
// applied, and shared with the Tokyo nodes over the CM connections (chunked), never with New York; a Tokyo
// node that starts later gets it from its group; a signed manifest is checked on every node with its own key;
// a wrong SHA-256 is refused, discarded and tried again.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '@proxyha/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmNode, formatCmStatus, parseCmConfig } from '../src/index';
import { waitUntil, writeTestCa } from './fixtures/tls-cluster';

const root = mkdtempSync(join(tmpdir(), 'cm-updates-test-'));
let caDir: string;
let server: Server;
let base: string;
/** Every request the update server saw: path and Range header, in order. */
const requests: { path: string; range: string | undefined }[] = [];

// the list: 3 MiB, so that it crosses the CM connections in several chunks
const LIST = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < LIST.length; i++) LIST[i] = (i * 7919 + (i >> 11)) & 0xff;
const LIST_SHA = createHash('sha256').update(LIST).digest('hex');
const BAD = Buffer.from('not the file the configuration pins\n');
// the signed source: manifest + Ed25519 signature
const AV = Buffer.from('antivirus engine 7\n'.repeat(1000));
const keys = generateKeyPairSync('ed25519');
const PUBLIC_KEY = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const MANIFEST = Buffer.from(
  JSON.stringify({
    version: '7.0.1',
    sha256: createHash('sha256').update(AV).digest('hex'),
    size: AV.length,
    url: '/av-7.0.1.db',
  }),
);
const SIGNATURE = sign(null, MANIFEST, keys.privateKey).toString('base64');

let cutDone = false;
const CUT_AT = 1024 * 1024;

beforeAll(async () => {
  caDir = await writeTestCa(join(root, 'ca'));
  server = createServer((req, res) => {
    const range = req.headers.range;
    requests.push({ path: req.url ?? '', range });
    const body =
      req.url === '/list.db'
        ? LIST
        : req.url === '/bad.db'
          ? BAD
          : req.url === '/av.json'
            ? MANIFEST
            : req.url === '/av.json.sig'
              ? Buffer.from(`${SIGNATURE}\n`)
              : req.url === '/av-7.0.1.db'
                ? AV
                : undefined;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m) {
      const start = Number(m[1]);
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    if (req.url === '/list.db' && !cutDone) {
      // the first download of the list is cut after its first MiB, once the node has written all of it
      cutDone = true;
      res.write(body.subarray(0, CUT_AT));
      const partial = join(root, 'tokyo-2', 'updates', 'urlfilter', `.partial-${LIST_SHA}`);
      const cut = () => {
        if (existsSync(partial) && statSync(partial).size >= CUT_AT) res.socket?.destroy();
        else setTimeout(cut, 10);
      };
      cut();
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

const until = (what: string, fn: () => boolean, ms = 30_000) => waitUntil(what, fn, ms);

function sources(extra: object[] = []) {
  return [
    {
      name: 'urlfilter',
      url: `${base}/list.db`,
      sha256: LIST_SHA,
      version: '2026.11.30',
      // a real command: writes "<file>.applied" next to the file it is given
      apply: [process.execPath, '-e', "require('fs').writeFileSync(process.argv[1] + '.applied', 'ok')"],
    },
    { name: 'av', url: `${base}/unused`, manifest: `${base}/av.json`, publicKey: PUBLIC_KEY },
    ...extra,
  ];
}

function node(
  name: string,
  host: string,
  network: string[],
  update: string,
  peers: string[],
  o: { download?: boolean; extra?: object[] } = {},
) {
  const log = new MemoryLogger();
  const config = parseCmConfig({
    name,
    listen: `${host}:0`,
    dataDir: join(root, name),
    ca: { cert: join(caDir, 'ca.crt'), key: join(caDir, 'ca.key') },
    peers,
    groups: { network, update },
    updates: { interval: '1h', downloadFromInternet: o.download ?? false, sources: sources(o.extra) },
  });
  const n = new CmNode(config, {
    logger: log,
    softwareVersion: '1.0.0',
    controlSocket: false,
    updateTimings: { firstCheckMs: 1500, collectMs: 500, retryMs: 1500 },
  });
  return { node: n, log, dir: join(root, name, 'updates') };
}

const listOf = (n: CmNode, name: string) => n.status().updates?.lists.find((l) => l.name === name);

describe('update groups over mutual TLS: Tokyo and New York, a local update server', () => {
  it('downloads once (resumed after a cut), verifies, shares within Tokyo only, refuses a wrong SHA-256', async () => {
    const tt = node('tokyo-transit', '127.0.0.91', ['tokyo', 'transit'], 'tokyo', []);
    await tt.node.start();
    const at = (n: { node: CmNode }, host: string) => `${host}:${n.node.port}`;
    const nt = node('ny-transit', '127.0.0.93', ['newyork', 'transit'], 'newyork', [at(tt, '127.0.0.91')]);
    await nt.node.start();
    const n2 = node('ny-2', '127.0.0.94', ['newyork'], 'newyork', [at(nt, '127.0.0.93')]);
    await n2.node.start();
    // the Tokyo leaf downloads from the internet; it also has a source whose pinned SHA-256 is wrong
    const t2 = node('tokyo-2', '127.0.0.92', ['tokyo'], 'tokyo', [at(tt, '127.0.0.91')], {
      download: true,
      extra: [{ name: 'bad', url: `${base}/bad.db`, sha256: 'f'.repeat(64) }],
    });
    await t2.node.start();
    const all = [tt, t2, nt, n2];
    let t3: ReturnType<typeof node> | undefined;
    try {
      await until('tokyo-2 has the list and the engine', () =>
        ['urlfilter', 'av'].every(
          (l) => listOf(t2.node, l)?.version !== null && listOf(t2.node, l) !== undefined,
        ),
      );
      await until('tokyo-transit has both from tokyo-2', () =>
        ['urlfilter', 'av'].every((l) => listOf(tt.node, l)?.from === 'tokyo-2'),
      );
      // one download of the list, cut and resumed where it stopped
      const list = requests.filter((r) => r.path === '/list.db');
      expect(list).toHaveLength(2);
      expect(list[0]?.range).toBeUndefined();
      expect(list[1]?.range).toBe(`bytes=${CUT_AT}-`);
      expect(t2.log.entries.some((e) => /cut after \d+ bytes.*resuming/.test(e.message))).toBe(true);
      expect(t2.log.entries.some((e) => e.message.includes(`resuming at byte ${CUT_AT} of`))).toBe(true);
      // in place, byte for byte, atomically under dataDir/updates/<name>/, and applied
      for (const n of [t2, tt]) {
        const file = join(n.dir, 'urlfilter', 'v-2026.11.30');
        // the status names the version once it is held; current.json is written next, then it is applied
        await until(`${n.node.self.name} applied it`, () => existsSync(`${file}.applied`));
        expect(readFileSync(file).equals(LIST)).toBe(true);
        expect(JSON.parse(readFileSync(join(n.dir, 'urlfilter', 'current.json'), 'utf8'))).toMatchObject({
          version: '2026.11.30',
          sha256: LIST_SHA,
          size: LIST.length,
        });
        expect(readFileSync(join(n.dir, 'av', 'v-7.0.1')).equals(AV)).toBe(true);
      }
      expect(listOf(t2.node, 'urlfilter')).toMatchObject({
        from: 'internet',
        sha256: LIST_SHA,
        size: LIST.length,
      });
      // the signed engine was checked on tokyo-transit too, with its own key, from the proof that came along
      expect(tt.log.entries.some((e) => /UpdateInstalled\] av 7\.0\.1.*from tokyo-2/.test(e.message))).toBe(
        true,
      );
      // the wrong SHA-256: refused, discarded, logged, tried again; nothing in place
      await until(
        'the bad file was tried twice',
        () => requests.filter((r) => r.path === '/bad.db').length >= 2,
      );
      expect(
        t2.log.entries.some(
          (e) =>
            e.level === 'error' &&
            /UpdateIntegrity\] bad sha256:\w+ from internet: SHA-256 [0-9a-f]{64}, expected f{64}/.test(
              e.message,
            ),
        ),
      ).toBe(true);
      // between two attempts (nothing under way, the last one failed): no file in place, no partial file left
      const badPartial = join(t2.dir, 'bad', `.partial-${'f'.repeat(64)}`);
      let between: { busy: string | null; lastError: string | null; partial: boolean } | undefined;
      await until('the bad file between two attempts', () => {
        const l = listOf(t2.node, 'bad');
        // read together, synchronously: the driver deletes the partial file before it reports the failure
        between = { busy: l?.busy ?? null, lastError: l?.lastError ?? null, partial: existsSync(badPartial) };
        return between.busy === null && between.lastError !== null;
      });
      expect(between).toEqual({
        busy: null,
        lastError: expect.stringMatching(/CM_UPDATE_INTEGRITY/),
        partial: false,
      });
      expect(listOf(t2.node, 'bad')?.version).toBeNull();
      expect(existsSync(join(t2.dir, 'bad', 'current.json'))).toBe(false);
      // the status shows it
      const text = formatCmStatus(t2.node.status());
      expect(text).toContain('updates: groups tokyo; download from internet: yes; from other nodes: yes');
      expect(text).toMatch(
        / {2}urlfilter {2}2026\.11\.30 {2}sha256 [0-9a-f]{16}… {2}3145728 bytes {2}from internet/,
      );
      expect(text).toMatch(/members: tokyo-transit/);

      // a Tokyo node that starts after the delivery gets both from its group at once, not from the internet
      t3 = node('tokyo-3', '127.0.0.95', ['tokyo'], 'tokyo', [at(tt, '127.0.0.91')]);
      await t3.node.start();
      const t3n = t3;
      await until('tokyo-3 has both from its group', () =>
        ['urlfilter', 'av'].every((l) => /^tokyo-/.test(listOf(t3n.node, l)?.from ?? '')),
      );
      expect(readFileSync(join(t3.dir, 'urlfilter', 'v-2026.11.30')).equals(LIST)).toBe(true);
      expect(requests.filter((r) => r.path === '/list.db')).toHaveLength(2);
      expect(requests.filter((r) => r.path === '/av-7.0.1.db')).toHaveLength(1);

      // New York never got anything of it, though its transit node talks to Tokyo's
      await new Promise((r) => setTimeout(r, 500));
      expect(nt.node.status().nodes.find((n) => n.name === 'tokyo-transit')?.reachable).toBe(true);
      for (const n of [nt, n2]) {
        expect(listOf(n.node, 'urlfilter')?.version, n.node.self.name).toBeNull();
        expect(listOf(n.node, 'av')?.version).toBeNull();
        expect(existsSync(join(n.dir, 'urlfilter', 'current.json'))).toBe(false);
        expect(n.log.entries.some((e) => /Update(Installed|Download)/.test(e.message))).toBe(false);
        expect(n.node.status().updates?.members.map((m) => m.name)).not.toContain('tokyo-transit');
      }
    } finally {
      await t3?.node.stop();
      for (const n of all.reverse()) await n.node.stop();
    }
  }, 60_000);
});
