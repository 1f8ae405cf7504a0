// The client of the gateway failover bench: runs in the client namespace and starts an HTTP request through
// the proxy at VIP:PORT every GAP ms (`GET http://ORIGIN/` on a fresh connection, HTTP/1.0), from the
// SOURCES in turn (so the requests reach every proxy of the cluster). Requests run concurrently: one that
// hangs (its SYN went to a node that no longer holds the VIP) is abandoned after CONNECT_TIMEOUT ms
// without a connection, or TIMEOUT ms in all. For every request it prints one line
//   r START END OK SOURCE REASON
// START and END: performance.timeOrigin + performance.now() (wall-clock ms, µs precision), so the bench
// process can compare them with its own signal time taken the same way; OK 1 for a `200` answer that
// carries the origin's body, else 0 with REASON (ECONNREFUSED, connect-timeout, timeout, status-502, ...).
// Usage: node client.mjs '{"vip":...,"port":9090,"origin":"http://192.168.77.15:8080/","sources":[...],
//   "gapMs":10,"connectTimeoutMs":50,"timeoutMs":1000}'
import { createConnection } from 'node:net';

const o = JSON.parse(process.argv[2] ?? '{}');
const now = () => performance.timeOrigin + performance.now();
const host = new URL(o.origin).host;
const request = Buffer.from(`GET ${o.origin} HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: proxyha-bench\r\n\r\n`);
let next = 0;
const lines = [];

function flush() {
  if (lines.length) process.stdout.write(lines.splice(0).join(''));
}

function attempt() {
  const source = o.sources[next++ % o.sources.length];
  const start = now();
  let done = false;
  let connected = false;
  let answer = '';
  const socket = createConnection({ host: o.vip, port: o.port, localAddress: source, noDelay: true });
  const finish = (ok, reason) => {
    if (done) return;
    done = true;
    clearTimeout(connectTimer);
    clearTimeout(timer);
    socket.destroy();
    lines.push(`r ${start.toFixed(3)} ${now().toFixed(3)} ${ok ? 1 : 0} ${source} ${reason}\n`);
  };
  const connectTimer = setTimeout(() => connected || finish(false, 'connect-timeout'), o.connectTimeoutMs);
  const timer = setTimeout(() => finish(false, 'timeout'), o.timeoutMs);
  socket.on('connect', () => {
    connected = true;
    clearTimeout(connectTimer);
    socket.write(request);
  });
  socket.setEncoding('latin1');
  socket.on('data', (d) => {
    answer += d;
  });
  socket.on('error', (e) => finish(false, e.code ?? 'error'));
  socket.on('close', () => {
    const status = answer.match(/^HTTP\/1\.\d (\d+)/)?.[1];
    if (status === '200' && answer.includes('origin-ok')) finish(true, 'ok');
    else finish(false, status ? `status-${status}` : connected ? 'no-answer' : 'closed');
  });
}

setInterval(attempt, o.gapMs);
setInterval(flush, 50);
attempt();
process.on('SIGTERM', () => {
  flush();
  process.exit(0);
});
