// Two central-management nodes on loopback, over mutual TLS with a cluster CA made on the spot: a save on
// node-a reaches node-b, and both show the same Current Storage Timestamp.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CmNode, createClusterCa, parseCmConfig } from '@proxyha/cm-coordinator';

const dir = await mkdtemp(join(tmpdir(), 'cm-quickstart-'));
const ca = await createClusterCa({ algorithm: 'P-256' }); // proxyha-cm ca create --out DIR
await writeFile(join(dir, 'ca.crt'), ca.certPem);
await writeFile(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });

const node = (name, address, peers) =>
  new CmNode(
    parseCmConfig({
      name,
      listen: `${address}:0`, // any free port here; 12346 by default
      dataDir: join(dir, name),
      ca: { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') },
      peers,
    }),
    { softwareVersion: '1.0.0', controlSocket: false },
  );

const a = node('node-a', '127.0.0.41', []);
await a.start();
const b = node('node-b', '127.0.0.42', [`127.0.0.41:${a.port}`]);
await b.start();

const saved = a.save([{ name: 'policy.xml', content: '<policy block="gambling"/>' }], { comment: 'first' });
while (b.current()?.id !== saved.version) await new Promise((r) => setTimeout(r, 20));
console.log(`node-b has ${b.current().documents[0].name}: ${b.current().documents[0].content}`);
console.log(`same Current Storage Timestamp: ${a.storageTimestamp === b.storageTimestamp}`);

await b.stop();
await a.stop();
await rm(dir, { recursive: true, force: true });
