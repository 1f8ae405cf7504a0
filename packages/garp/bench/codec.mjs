// Codec and schedule cost against a baseline run side by side. Baseline: the least an encoder can do
// (fill a 42- or 86-byte frame from pre-parsed byte arrays with Uint8Array.set) and the least a decoder can
// do (read the same fields as numbers/subarrays, no validation, no text). Ratios > 1 mean slower than that.
// Run: pnpm --filter @proxyha/garp build && node packages/garp/bench/codec.mjs
import { performance } from 'node:perf_hooks';
import {
  AnnouncementSchedule,
  decodeFrame,
  encodeFrame,
  gratuitousArp,
  unsolicitedNeighborAdvertisement,
} from '../dist/index.js';

const N = Number(process.env.BENCH_N ?? 200_000);
const ROUNDS = 3;

const arpFrame = gratuitousArp({ mac: '46:cb:2c:84:db:0f', ip: '192.168.77.74' });
const naFrame = unsolicitedNeighborAdvertisement({ mac: '46:cb:2c:84:db:0f', ip: 'fd77::74' });
const arpBytes = encodeFrame(arpFrame);
const naBytes = encodeFrame(naFrame);
const mac = Uint8Array.from([0x46, 0xcb, 0x2c, 0x84, 0xdb, 0x0f]);
const ip4 = Uint8Array.from([192, 168, 77, 74]);
const ip6 = naBytes.subarray(22, 38);
let sink = 0;

function time(fn) {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) fn(i);
    best = Math.min(best, performance.now() - t0);
  }
  return (best * 1e6) / N; // ns per op
}

const baselineEncodeArp = () => {
  const b = new Uint8Array(42);
  b.fill(0xff, 0, 6);
  b.set(mac, 6);
  b[12] = 8;
  b[13] = 6;
  b.set(mac, 22);
  b.set(ip4, 28);
  b.set(ip4, 38);
  sink += b[41];
};
const baselineEncodeNa = () => {
  const b = new Uint8Array(86);
  b.set(mac, 6);
  b.set(ip6, 22);
  b.set(ip6, 62);
  b.set(mac, 80);
  let s = 0;
  for (let i = 22; i < 86; i += 2) s += (b[i] << 8) | b[i + 1];
  b[56] = s & 0xff;
  sink += b[85];
};
const baselineDecode = (bytes) => () => {
  sink += ((bytes[12] << 8) | bytes[13]) + bytes.subarray(6, 12)[0] + bytes.subarray(28, 32)[3];
};

const rows = [
  [
    'encode GARP frame',
    time(() => {
      sink += encodeFrame(arpFrame).length;
    }),
    time(baselineEncodeArp),
  ],
  [
    'encode unsolicited NA frame',
    time(() => {
      sink += encodeFrame(naFrame).length;
    }),
    time(baselineEncodeNa),
  ],
  [
    'decode GARP frame',
    time(() => {
      sink += decodeFrame(arpBytes).ok ? 1 : 0;
    }),
    time(baselineDecode(arpBytes)),
  ],
  [
    'decode unsolicited NA frame',
    time(() => {
      sink += decodeFrame(naBytes).ok ? 1 : 0;
    }),
    time(baselineDecode(naBytes)),
  ],
];

// schedule: start 256 VIPs on one interface and drain the bursts (5 frames each), vs pushing the same
// number of pre-built frames into an array
const VIPS = 256;
const ips = Array.from({ length: VIPS }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
const schedNs = (() => {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const s = new AnnouncementSchedule({ secondBurstDelayMs: 0 });
    const t0 = performance.now();
    s.start({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ips }, 0);
    sink += s.poll(0).frames.length;
    best = Math.min(best, performance.now() - t0);
  }
  return (best * 1e6) / (VIPS * 5);
})();
const baseSchedNs = (() => {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    const out = [];
    for (let k = 0; k < 5; k++) for (let i = 0; i < VIPS; i++) out.push({ frame: arpBytes, i });
    sink += out.length;
    best = Math.min(best, performance.now() - t0);
  }
  return (best * 1e6) / (VIPS * 5);
})();
rows.push(['schedule: start + drain, per frame (256 VIPs x 5)', schedNs, baseSchedNs]);

console.log(`N=${N}, best of ${ROUNDS} rounds, node ${process.version}`);
console.log('operation'.padEnd(52), 'ours ns/op'.padStart(11), 'baseline'.padStart(10), 'ratio'.padStart(7));
for (const [name, ours, base] of rows)
  console.log(
    name.padEnd(52),
    ours.toFixed(1).padStart(11),
    base.toFixed(1).padStart(10),
    (ours / base).toFixed(1).padStart(7),
  );
if (sink === 42) console.log('');
