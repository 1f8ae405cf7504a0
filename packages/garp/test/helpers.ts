import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One captured vector (see fixtures/README.md). */
export interface Vector {
  name: string;
  description: string;
  source: string;
  layer: 'ether' | 'ip';
  hex: string;
  length: number;
  decoded: Record<string, string | number | string[]>;
}

export const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'vectors.json'), 'utf8'),
) as Vector[];

export function vector(name: string): Vector {
  const v = vectors.find((x) => x.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return v;
}

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A classic libpcap file (Ethernet link type, microsecond timestamps) holding `frames`. */
export function pcapFile(frames: readonly Uint8Array[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const parts: Buffer[] = [header];
  frames.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(0, 4);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

/** VRRP's virtual router MAC of VRID 51 for IPv4 (RFC 5798 §7.3: 00:00:5e:00:01:VRID), as FRR sends it. */
export const VMAC4_51 = '00:00:5e:00:01:33';
/** VRRP's virtual router MAC of VRID 51 for IPv6 (00:00:5e:00:02:VRID). */
export const VMAC6_51 = '00:00:5e:00:02:33';
