// The failover bench's client: runs inside the client node and opens a fresh TCP connection to
// HOST:PORT every GAP ms (several may be in flight: a SYN sent to a node that no longer holds the VIP
// is simply lost, so waiting for it would blur the measurement), each abandoned after TIMEOUT ms.
// Every time the answering node changes it prints
//   answer NAME T
// with T = performance.timeOrigin + performance.now() (wall-clock ms, µs precision) at the arrival of
// the answer, so the bench process can subtract its own signal time taken the same way.
// On SIGTERM it prints a stats line and exits.
// Usage: node probe.mjs HOST PORT [GAP_MS=1] [TIMEOUT_MS=50] [MAX_IN_FLIGHT=100]
import { createConnection } from 'node:net';

const [host = '', port = '7000', gap = '1', timeout = '50', maxInFlight = '100'] = process.argv.slice(2);
const gapMs = Number(gap);
const timeoutMs = Number(timeout);
const max = Number(maxInFlight);
const now = () => performance.timeOrigin + performance.now();

let last = '';
let inFlight = 0;
const stats = { attempts: 0, answers: 0, timeouts: 0, errors: 0 };

function attempt() {
  if (inFlight >= max) return;
  inFlight++;
  stats.attempts++;
  let settled = false;
  const socket = createConnection({ host, port: Number(port), noDelay: true });
  const finish = () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    inFlight--;
    socket.destroy();
  };
  const timer = setTimeout(() => {
    if (!settled) stats.timeouts++;
    finish();
  }, timeoutMs);
  socket.once('data', (chunk) => {
    const t = now();
    const name = chunk.toString('utf8').trim();
    stats.answers++;
    if (name && name !== last) {
      last = name;
      process.stdout.write(`answer ${name} ${t.toFixed(3)}\n`);
    }
    finish();
  });
  socket.on('error', () => {
    if (!settled) stats.errors++;
    finish();
  });
  socket.on('close', finish);
}

setInterval(attempt, gapMs);
attempt();
process.on('SIGTERM', () => {
  process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
  process.exit(0);
});
