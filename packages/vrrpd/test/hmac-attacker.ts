// The attacker of auth-hmac.net.test.ts, run inside its lab namespace (`node --import tsx` from the
// sources, see sourceNodeArgs). An AF_PACKET socket on eth0 lets it capture frames and send frames with
// any source address:
//
//   capture FILE SOURCE N TIMEOUT_MS   keep the first N VRRP frames from SOURCE (hex lines in FILE)
//   replay FILE                        send those frames again, verbatim
//   forge SOURCE N KEY_HEX|none        send N VRRPv3 adverts, VRID 51, priority 254, from SOURCE to
//                                      224.0.0.18 with a trailer signed with KEY_HEX (key id 1), or none
//
// Each prints one line: `captured N LEN,LEN,...`, `replayed N`, `forged N`.
import { readFileSync, writeFileSync } from 'node:fs';
import { internetChecksum, parseIp } from '@proxyha/common';
import { linuxStack } from '@proxyha/netio';
import { encodeVrrp, VrrpHmac } from '@proxyha/vrrp';

const [cmd, ...args] = process.argv.slice(2);
const socket = await linuxStack.openPacketSocket({ interface: 'eth0', etherType: 0x0800 });

/** The IPv4 source of a frame (Ethernet + IPv4), and whether it carries VRRP. */
function vrrpSource(frame: Buffer): string | undefined {
  if (frame.length < 34 || frame[23] !== 112) return undefined;
  return `${frame[26]}.${frame[27]}.${frame[28]}.${frame[29]}`;
}

async function capture(file: string, source: string, n: number, timeoutMs: number) {
  const frames: Buffer[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    socket.onPacket((f) => {
      if (frames.length >= n || f.packetType === 'outgoing' || vrrpSource(f.frame) !== source) return;
      frames.push(Buffer.from(f.frame));
      if (frames.length >= n) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  writeFileSync(file, frames.map((f) => f.toString('hex')).join('\n'));
  // IP payload lengths: the VRRP message and its trailer
  const lengths = frames.map((f) => ((f[16] as number) << 8) + (f[17] as number) - 20);
  console.log(`captured ${frames.length} ${lengths.join(',')}`);
}

async function replay(file: string) {
  const frames = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  for (const hex of frames) {
    await socket.send(Buffer.from(hex, 'hex'));
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`replayed ${frames.length}`);
}

/** Ethernet (to the VRRP group's MAC) + IPv4 (TTL 255, DSCP CS6, protocol 112) around a VRRP payload. */
function frameOf(source: string, payload: Uint8Array, mac: Uint8Array): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[1] = 0xc0;
  ip.writeUInt16BE(20 + payload.length, 2);
  ip[8] = 255;
  ip[9] = 112;
  Buffer.from(parseIp(source, 'ipv4')?.bytes as Uint8Array).copy(ip, 12);
  Buffer.from([224, 0, 0, 18]).copy(ip, 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  const eth = Buffer.from([0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, ...mac, 0x08, 0x00]);
  return Buffer.concat([eth, ip, payload]);
}

async function forge(source: string, n: number, keyHex: string) {
  const info = await linuxStack.interfaceInfo('eth0');
  const mac = Uint8Array.from(info.mac.split(':').map((h) => Number.parseInt(h, 16)));
  const hmac =
    keyHex === 'none'
      ? undefined
      : new VrrpHmac({ keys: [{ id: 1, key: Buffer.from(keyHex, 'hex') }], activeKey: 1 });
  const binding = { family: 'ipv4', version: 3, vrid: 51, source } as const;
  for (let i = 0; i < n; i++) {
    const message = encodeVrrp(
      {
        version: 3,
        family: 'ipv4',
        vrid: 51,
        priority: 254,
        addresses: ['192.168.77.74'],
        maxAdvertIntervalCs: 10,
      },
      { source },
    );
    const payload = hmac ? hmac.seal(message, binding, hmac.nextSequence(Date.now())) : message;
    await socket.send(frameOf(source, payload, mac));
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`forged ${n}`);
}

if (cmd === 'capture') await capture(args[0] as string, args[1] as string, Number(args[2]), Number(args[3]));
else if (cmd === 'replay') await replay(args[0] as string);
else if (cmd === 'forge') await forge(args[0] as string, Number(args[1]), args[2] as string);
else throw new Error(`unknown command ${cmd}`);
socket.close();
