// One side of bench/pps.mjs, run inside a namespace: `worker.mjs send|recv raw|udp <ifname> <peer-ip> <seconds>`.
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { linuxStack } from '../dist/index.js';

const [role, mode, ifname, peer, seconds] = process.argv.slice(2);
const PORT = 9253;
const WINDOW = 64;
const payload = Buffer.alloc(40, 0xab);

if (role === 'recv') {
  let count = 0;
  let close;
  if (mode === 'raw') {
    const sock = await linuxStack.openIpSocket({ family: 'ipv4', protocol: 253, interface: ifname });
    sock.onPacket(() => count++);
    close = () => sock.close();
  } else {
    const sock = createSocket('udp4');
    sock.on('message', () => count++);
    await new Promise((r) => sock.bind(PORT, peer, r));
    close = () => sock.close();
  }
  console.log('READY');
  createInterface({ input: process.stdin }).on('line', () => {
    close();
    console.log(JSON.stringify({ received: count }));
    process.exit(0);
  });
} else {
  let send;
  let close;
  if (mode === 'raw') {
    const sock = await linuxStack.openIpSocket({ family: 'ipv4', protocol: 253, interface: ifname, ttl: 64 });
    send = () => sock.send(payload, peer);
    close = () => sock.close();
  } else {
    const sock = createSocket('udp4');
    send = () =>
      new Promise((resolve, reject) => sock.send(payload, PORT, peer, (e) => (e ? reject(e) : resolve())));
    close = () => sock.close();
  }
  const started = process.hrtime.bigint();
  const end = Date.now() + Number(seconds) * 1000;
  let sent = 0;
  while (Date.now() < end) {
    const batch = [];
    for (let i = 0; i < WINDOW; i++) batch.push(send());
    await Promise.all(batch);
    sent += WINDOW;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  close();
  console.log(JSON.stringify({ sent, elapsed }));
}
