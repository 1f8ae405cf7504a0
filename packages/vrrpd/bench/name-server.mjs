// A TCP service for the failover bench: answers every connection with its node's name and closes.
// Run inside a lab node: node name-server.mjs NAME [PORT=7000]. Listens on every IPv4 address, so it
// answers on the VIP as soon as the VIP is configured on the node.
import { createServer } from 'node:net';

const [name = 'x', port = '7000'] = process.argv.slice(2);
const server = createServer((socket) => {
  socket.on('error', () => {});
  socket.end(`${name}\n`);
});
server.listen(Number(port), '0.0.0.0', 511, () => process.stdout.write(`listening ${name} ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
