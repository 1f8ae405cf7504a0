// Two redirect ports on loopback; take one away and bring it back, and watch the node as a whole.
// Run from packages/health-mon after `pnpm build`: node examples/quickstart.mjs
import { createServer } from 'node:net';
import { HealthMonitor } from '@proxyha/health-mon';

const listen = (port = 0) =>
  new Promise((resolve) => {
    const server = createServer((socket) => socket.resume());
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const proxy = await listen(); // the proxy port, say 9090
let ftp = await listen(); // the FTP proxy port, say 2121
const ports = [proxy.address().port, ftp.address().port];

const mon = new HealthMonitor({ host: '127.0.0.1', ports, intervalMs: 100, rise: 2, fall: 2 });
let step = 0;
mon.subscribe(async (_state, change) => {
  if (change === null) return; // the immediate call with the initial (unknown) state
  console.log(change.line);
  step++;
  if (step === 1) ftp.close(); // disable the FTP listener: the whole node goes to failure
  if (step === 2) ftp = await listen(ports[1]); // enable it again: ok after `rise` probes
  if (step === 3) {
    await mon.stop();
    proxy.close();
    ftp.close();
  }
});
mon.start();
