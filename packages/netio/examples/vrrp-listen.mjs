#!/usr/bin/env node
// Prints the VRRP advertisements (IPv4, protocol 112, 224.0.0.18) seen on an interface, with the
// metadata netio surfaces. Run as root (or with CAP_NET_RAW) after `pnpm --filter @proxyha/netio build`:
//   node examples/vrrp-listen.mjs eth0 [seconds]
import { linuxStack } from '../dist/index.js';

const [ifname = 'eth0', seconds = '10'] = process.argv.slice(2);
try {
  const info = await linuxStack.interfaceInfo(ifname);
  console.log(`${info.name}: index ${info.index}, mac ${info.mac}, mtu ${info.mtu}, up ${info.up}`);
  const sock = await linuxStack.openIpSocket({ family: 'ipv4', protocol: 112, interface: ifname, ttl: 255 });
  sock.joinGroup('224.0.0.18');
  setTimeout(() => sock.close(), Number(seconds) * 1000);
  for await (const p of sock) {
    const vrid = p.payload[1];
    const priority = p.payload[2];
    console.log(
      `${p.source} -> ${p.destination} ttl ${p.ttl} ifindex ${p.ifindex}: vrid ${vrid} priority ${priority}`,
    );
  }
} catch (error) {
  console.error(`${error.code ?? 'ERROR'}: ${error.message}`);
  process.exitCode = 1;
}
