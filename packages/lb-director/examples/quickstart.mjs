// Two nodes of group 51 on loopback (UDP carries the protocol-253 messages, so no root is needed):
// node-a directs, node-b reports to it. The director learns node-b, splits the table between the two,
// and maps every client address to one of them.
import { randomUUID } from 'node:crypto';
import { createWire, LbNode, LoopbackLbTransport } from '@proxyha/lb-director';

const redirects = [{ originalPort: 9090, destinationPort: 9090 }];
const node = (name, address, peer, role) =>
  new LbNode({
    group: 51,
    nodeId: randomUUID(), // the daemon keeps it in DATADIR/node-id
    name,
    managementIp: address,
    softwareVersion: '1.0.0',
    redirects,
    intervalMs: 200,
    weight: 100,
    priority: 100,
    transport: new LoopbackLbTransport({ address, peers: [peer], port: 15253 }),
    wire: createWire(), // createWire({ keys }) signs and verifies with HMAC-SHA256
    health: () => ({ status: 'ok', failingPorts: [] }), // the daemon asks its port monitor
    resources: async (ports) => ({
      resources: { cpu: 0.2, memory: 0.3, load: 0.1 },
      connections: ports.map((port) => ({ port, active: 0 })),
    }),
    role,
  });

const a = node('node-a', '127.0.0.31', '127.0.0.32', 'director');
const b = node('node-b', '127.0.0.32', '127.0.0.31', 'scanner');
a.on('action', (action) => {
  if (action.type === 'nodeJoined') console.log(`joined: ${action.node.name}`);
});
await a.start();
await b.start();
while (a.status().nodes.length < 2) await new Promise((r) => setTimeout(r, 50));

for (const n of a.status().nodes) console.log(`${n.name} ${n.address} share ${n.share.toFixed(2)}`);
const owner = a.lookup('192.0.2.10'); // the same client always gets the same node
console.log(`192.0.2.10 -> ${a.status().nodes.find((n) => n.id === owner)?.name}`);
console.log(`node-b follows ${b.status().director?.name}`);
await b.stop();
await a.stop();
