import { ProxyhaError } from '@proxyha/common';
import { describe, expect, it } from 'vitest';
import {
  AnnouncementSchedule,
  decodeFrame,
  encodeArp,
  GARP_ERRORS,
  GarpError,
  gratuitousArp,
  PacketSocketSender,
} from '../src/index';
import { fromHex, vector } from './helpers';

describe('GarpError and GARP_ERRORS', () => {
  it('is a ProxyhaError whose code is in the catalogue, with the context in details', () => {
    const r = decodeFrame(fromHex(vector('ka-garp-request').hex).subarray(0, 20));
    if (r.ok) throw new Error('decoded a truncated frame');
    expect(r.error).toBeInstanceOf(ProxyhaError);
    expect(r.error).toBeInstanceOf(GarpError);
    expect(Object.keys(GARP_ERRORS)).toContain(r.error.code);
    expect(r.error.toJSON()).toEqual({
      name: 'GarpError',
      code: 'GARP_TRUNCATED',
      message: 'arp: 6 bytes, need 28',
      details: { offset: 14 },
    });
    // a decode error describes bad input, not a bug: no stack trace to capture
    expect(r.error.stack ?? '').not.toMatch(/\n\s+at /);
  });

  it('gives every thrown validation error its issues', () => {
    const arp = gratuitousArp({ mac: '02:00:00:00:00:01', ip: '10.0.0.1' }).arp;
    expect(() => encodeArp({ ...arp, targetIp: '10.0.0.256' })).toThrow(
      expect.objectContaining({
        code: 'GARP_BAD_IPV4',
        message: 'arp.targetIp: not an IPv4 address (got "10.0.0.256")',
        details: { issues: [{ path: 'arp.targetIp', message: 'not an IPv4 address (got "10.0.0.256")' }] },
      }),
    );
    expect(() => new AnnouncementSchedule().poll(Number.POSITIVE_INFINITY)).toThrow(
      expect.objectContaining({
        code: 'GARP_INVALID_ARGUMENT',
        details: { issues: [{ path: 'at', message: 'must be a finite number of ms (got Infinity)' }] },
      }),
    );
  });

  it('every catalogue entry is GARP_<CONDITION> with a one-line meaning', () => {
    for (const [code, meaning] of Object.entries(GARP_ERRORS)) {
      expect(code).toMatch(/^GARP_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      expect(meaning).toMatch(/^[^\n]+$/);
    }
  });

  it('a closed PacketSocketSender rejects with GARP_CLOSED', async () => {
    const s = new PacketSocketSender({
      openPacketSocket: () => Promise.reject(new Error('not used')),
    });
    await s.close();
    await expect(s.sendFrame('eth0', new Uint8Array(60))).rejects.toMatchObject({
      code: 'GARP_CLOSED',
      details: { ifname: 'eth0' },
    });
  });
});
