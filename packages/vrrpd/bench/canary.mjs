// Scheduling-latency canary for the soak: a Node process with a timer every INTERVAL ms (as a VRRP
// master's advert timer) that measures how late each tick fires. Every REPORT ms it prints
//   lateness max=.. p99=.. p999=.. over2x=.. over3x=.. ticks=..
// (ms; over2x / over3x: ticks later than 2× / 3× the interval), then starts a new window.
// Usage: node canary.mjs [INTERVAL_MS=20] [REPORT_MS=10000]
const [interval = '20', report = '10000'] = process.argv.slice(2);
const iv = Number(interval);
let late = [];
let worst = 0;
let expected = performance.now() + iv;
const tick = () => {
  const t = performance.now();
  const l = Math.max(0, t - expected);
  late.push(l);
  if (l > worst) worst = l;
  expected = t + iv;
  setTimeout(tick, iv);
};
setTimeout(tick, iv);
setInterval(() => {
  const s = late.sort((x, y) => x - y);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? 0;
  const over = (k) => s.filter((x) => x > (k - 1) * iv).length;
  process.stdout.write(
    `lateness max=${q(1).toFixed(1)} p99=${q(0.99).toFixed(1)} p999=${q(0.999).toFixed(1)} over2x=${over(2)} over3x=${over(3)} ticks=${s.length}\n`,
  );
  late = [];
}, Number(report));
process.on('SIGTERM', () => {
  process.stdout.write(`worst ${worst.toFixed(1)}\n`);
  process.exit(0);
});
