import { describe, expect, it } from 'vitest';
import {
  AnnouncementSchedule,
  type AnnounceRequest,
  Announcer,
  decodeFrame,
  type GarpError,
  MemoryFrameSink,
} from '../src/index';

// prepare(): a request validated and encoded ahead of time, reused by start() of an equal request.
const VI_1: AnnounceRequest = {
  instance: 'VI_1',
  ifname: 'eth0',
  mac: '46:cb:2c:84:db:0f',
  ipv4: ['192.168.77.74'],
  ipv6: ['fd77::74'],
};

/** The frames of the first burst of `request` started at 0, by family. */
function firstBurst(s: AnnouncementSchedule, request: AnnounceRequest) {
  s.start(request, 0);
  const frames = s.poll(0).frames;
  s.stop(request.instance, 0);
  return frames;
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as GarpError).code;
  }
  return undefined;
}

describe('AnnouncementSchedule.prepare', () => {
  it('a prepared request starts with the frames encoded then: the same bytes, not encoded again', () => {
    const s = new AnnouncementSchedule();
    s.prepare({ ...VI_1 });
    const prepared = firstBurst(s, { ...VI_1, ipv4: ['192.168.77.74'], ipv6: ['fd77::74'] });
    const again = firstBurst(s, { ...VI_1 });
    // 5 ARPs and 5 NAs, as without prepare
    const fresh = firstBurst(new AnnouncementSchedule(), VI_1);
    expect(prepared.map((f) => [f.family, f.address, [...f.frame]])).toEqual(
      fresh.map((f) => [f.family, f.address, [...f.frame]]),
    );
    expect(prepared).toHaveLength(10);
    // one encoding per address, shared by every start of an equal request
    for (const [i, f] of prepared.entries()) expect(again[i]?.frame).toBe(f.frame);
    expect(fresh[0]?.frame).not.toBe(prepared[0]?.frame);
  });

  it('another MAC, address or policy is another request', () => {
    const s = new AnnouncementSchedule();
    s.prepare(VI_1);
    const base = firstBurst(s, VI_1);
    const otherMac = firstBurst(s, { ...VI_1, mac: '46:cb:2c:84:db:10' });
    expect(otherMac[0]?.frame).not.toBe(base[0]?.frame);
    expect(decodeFrame(otherMac[0]!.frame)).toMatchObject({
      ok: true,
      value: { kind: 'arp', ethernet: { src: '46:cb:2c:84:db:10' } },
    });
    const twice = firstBurst(s, { ...VI_1, policy: { repeat: 2 } });
    expect(twice).toHaveLength(4);
    expect(firstBurst(s, { ...VI_1, ipv6: [] }).map((f) => f.family)).toEqual(Array(5).fill('ipv4'));
  });

  it('refuses an invalid request as start does, and caches nothing for it', () => {
    const s = new AnnouncementSchedule();
    expect(code(() => s.prepare({ ...VI_1, mac: 'nope' }))).toBe('GARP_BAD_MAC');
    expect(code(() => s.start({ ...VI_1, mac: 'nope' }, 0))).toBe('GARP_BAD_MAC');
    // NaN would be written as null in JSON: such a request is validated every time, and refused
    const bad = { ...VI_1, policy: { repeat: Number.NaN } };
    expect(code(() => s.prepare(bad))).toBe('GARP_INVALID_ARGUMENT');
    expect(code(() => s.start(bad, 0))).toBe('GARP_INVALID_ARGUMENT');
    expect(s.isActive('VI_1')).toBe(false);
  });

  it('keeps the last 64 requests: the oldest is encoded again', () => {
    const s = new AnnouncementSchedule();
    const req = (i: number): AnnounceRequest => ({ ...VI_1, instance: `VI_${i}`, ipv6: [] });
    const first = firstBurst(s, req(0));
    expect(firstBurst(s, req(0))[0]?.frame).toBe(first[0]?.frame);
    for (let i = 1; i <= 64; i++) s.prepare(req(i));
    expect(firstBurst(s, req(0))[0]?.frame).not.toBe(first[0]?.frame);
  });
});

describe('Announcer.prepare', () => {
  it('sends nothing, and the announcement after it sends what it would have sent', async () => {
    const sink = new MemoryFrameSink();
    const announcer = new Announcer({ sender: sink });
    announcer.prepare(VI_1);
    await announcer.flush();
    expect(sink.sent).toEqual([]);
    expect(announcer.stats).toEqual({ sent: 0, failed: 0, queued: 0 });
    announcer.announce({ ...VI_1 });
    await announcer.flush();
    expect(sink.decoded().map((f) => f.kind)).toEqual([...Array(5).fill('arp'), ...Array(5).fill('na')]);
    await announcer.close();
  });
});
