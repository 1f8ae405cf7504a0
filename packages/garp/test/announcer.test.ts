import { ManualClock, MemoryLogger } from '@proxyha/common';
import { describe, expect, it } from 'vitest';
import {
  Announcer,
  type AnnouncerOptions,
  MemoryFrameSink,
  type PacketSocketLike,
  PacketSocketSender,
} from '../src/index';
import { toHex, vector } from './helpers';

function setup(policy?: AnnouncerOptions['policy']) {
  const clock = new ManualClock();
  const sink = new MemoryFrameSink(clock);
  const logger = new MemoryLogger();
  const a = new Announcer({ sender: sink, logger, clock, ...(policy ? { policy } : {}) });
  return { clock, sink, a, logger };
}

describe('Announcer (manual clock)', () => {
  it('sends keepalived’s 5 + 5 gratuitous ARPs and logs its line for each burst', async () => {
    const { clock, sink, a, logger } = setup();
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '46:cb:2c:84:db:0f', ipv4: ['192.168.77.74'] });
    await a.flush();
    expect(sink.sent.map((s) => s.at)).toEqual([0, 0, 0, 0, 0]);
    expect(
      sink.sent.every((s) => s.ifname === 'eth0' && toHex(s.frame) === vector('ka-garp-request').hex),
    ).toBe(true);
    expect(logger.entries.filter((e) => e.level === 'info')).toEqual([
      {
        level: 'info',
        message: '(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.77.74',
        fields: {
          instance: 'VI_1',
          ifname: 'eth0',
          family: 'ipv4',
          address: '192.168.77.74',
          reason: 'start',
          count: 5,
        },
      },
    ]);
    // the frames go first, the burst's line after them
    expect(logger.entries.map((e) => e.level)).toEqual(['debug', 'debug', 'debug', 'debug', 'debug', 'info']);
    expect(logger.entries.filter((e) => e.level === 'debug').map((e) => e.message)).toEqual(
      Array(5).fill('(VI_1) Sending gratuitous ARP on eth0 for 192.168.77.74'),
    );
    expect(clock.pendingTimes()).toEqual([5000]);
    await clock.advanceAsync(4999);
    expect(sink.sent).toHaveLength(5);
    await clock.advanceAsync(1);
    await a.flush();
    expect(sink.sent.map((s) => s.at)).toEqual([0, 0, 0, 0, 0, 5000, 5000, 5000, 5000, 5000]);
    expect(logger.entries.filter((e) => e.level === 'info').map((e) => e.fields?.reason)).toEqual([
      'start',
      'second',
    ]);
    expect(clock.pending).toBe(0);
    expect(a.stats).toEqual({ sent: 10, failed: 0, queued: 0 });
  });

  it('uses keepalived’s wording for IPv6', async () => {
    const { sink, a, logger } = setup({ repeat: 1, secondBurstDelayMs: 0 });
    a.announce({ instance: 'VI_6', ifname: 'eth0', mac: '46:cb:2c:84:db:0f', ipv6: ['fd77::74'] });
    await a.flush();
    expect(logger.lines('info')).toEqual([
      '(VI_6) Sending/queueing Unsolicited Neighbour Adverts on eth0 for fd77::74',
    ]);
    expect(toHex(sink.sent[0]?.frame ?? new Uint8Array())).toBe(vector('ka-ipv6-unsolicited-na').hex);
  });

  it('spaces frames on an interface by the rate limit, shared by the instances on it', async () => {
    const { clock, sink, a } = setup({ arpIntervalMs: 20, secondBurstDelayMs: 0 });
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    a.announce({ instance: 'VI_2', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.2'] });
    await clock.advanceAsync(1000);
    expect(sink.sent.map((s) => s.at)).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180]);
    expect(sink.decoded().map((f) => f.kind === 'arp' && f.arp.senderIp)).toEqual([
      ...Array(5).fill('10.0.0.1'),
      ...Array(5).fill('10.0.0.2'),
    ]);
  });

  it('stop() cancels queued frames and the second burst, and leaves no timer behind', async () => {
    const { clock, sink, a } = setup({ arpIntervalMs: 100 });
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await clock.advanceAsync(150);
    expect(sink.sent.map((s) => s.at)).toEqual([0, 100]);
    expect(a.stop('VI_1')).toBe(3);
    expect(clock.pending).toBe(0);
    await clock.advanceAsync(60_000);
    expect(sink.sent).toHaveLength(2);
  });

  it('reassert() re-announces at once and after the delay', async () => {
    const { clock, sink, a, logger } = setup({
      repeat: 1,
      secondBurstDelayMs: 0,
      reassertRepeat: 2,
      reassertDelayMs: 3000,
    });
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await clock.advanceAsync(1000);
    expect(a.reassert('VI_1')).toBe(true);
    await clock.advanceAsync(5000);
    expect(sink.sent.map((s) => s.at)).toEqual([0, 1000, 1000, 4000, 4000]);
    expect(logger.entries.filter((e) => e.level === 'info').map((e) => e.fields?.reason)).toEqual([
      'start',
      'reassert',
      'reassert-followup',
    ]);
    expect(a.reassert('nobody')).toBe(false);
  });

  it('logs send failures at error, counts them and keeps going', async () => {
    const { clock, sink, a, logger } = setup({ repeat: 2, secondBurstDelayMs: 1000 });
    sink.failWith = new Error('Network is down');
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await a.flush();
    expect(logger.lines('error')).toEqual(
      Array(2).fill('(VI_1) Error sending gratuitous ARP on eth0 for 10.0.0.1: Network is down'),
    );
    expect(logger.entries.find((e) => e.level === 'error')?.fields).toMatchObject({
      instance: 'VI_1',
      address: '10.0.0.1',
      error: 'Network is down',
    });
    sink.failWith = undefined;
    await clock.advanceAsync(1000);
    await a.flush();
    expect(sink.sent.map((s) => s.at)).toEqual([1000, 1000]);
    expect(a.stats).toEqual({ sent: 2, failed: 2, queued: 0 });
  });

  it('hands frames to the sender one at a time, in order, even when sends are slow', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    let inFlight = 0;
    const slow = {
      async sendFrame(_ifname: string, frame: Uint8Array) {
        inFlight++;
        expect(inFlight).toBe(1);
        await new Promise<void>((r) => clock.setTimeout(r, 5));
        order.push(toHex(frame.subarray(28, 32)));
        inFlight--;
      },
    };
    const a = new Announcer({ sender: slow, clock, policy: { repeat: 1, secondBurstDelayMs: 0 } });
    a.announce({
      instance: 'VI_1',
      ifname: 'eth0',
      mac: '02:00:00:00:00:01',
      ipv4: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    });
    await clock.advanceAsync(100);
    await a.flush();
    expect(order).toEqual(['0a000001', '0a000002', '0a000003']);
  });

  it('close() stops everything, waits for sends in flight and ignores later calls', async () => {
    const { clock, sink, a } = setup({ arpIntervalMs: 100, refreshIntervalMs: 1000 });
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await a.close();
    expect(clock.pending).toBe(0);
    a.announce({ instance: 'VI_2', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.2'] });
    expect(a.reassert('VI_1')).toBe(false);
    await clock.advanceAsync(10_000);
    expect(sink.sent).toHaveLength(1);
    expect(a.stats.queued).toBe(0);
  });

  it('rejects an invalid request synchronously and stays usable', async () => {
    const { sink, a } = setup({ repeat: 1, secondBurstDelayMs: 0 });
    expect(() => a.announce({ instance: 'VI_1', ifname: 'eth0', mac: 'zz', ipv4: ['10.0.0.1'] })).toThrow(
      expect.objectContaining({
        code: 'GARP_BAD_MAC',
        details: { issues: [{ path: 'mac', message: 'not a MAC address (got "zz")' }] },
      }),
    );
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await a.flush();
    expect(sink.decoded().map((f) => f.kind === 'arp' && f.arp.senderIp)).toEqual(['10.0.0.1']);
  });
});

describe('PacketSocketSender', () => {
  function fakeStack() {
    const opened: { interface: string; etherType: number; sent: string[]; closed: boolean }[] = [];
    return {
      opened,
      async openPacketSocket(o: { interface: string; etherType: number }): Promise<PacketSocketLike> {
        if (o.interface === 'missing') throw new Error('NETIO_UNKNOWN_INTERFACE');
        const rec = { ...o, sent: [] as string[], closed: false };
        opened.push(rec);
        return {
          get closed() {
            return rec.closed;
          },
          async send(frame) {
            rec.sent.push(toHex(frame));
          },
          close() {
            rec.closed = true;
          },
        };
      },
    };
  }

  it('opens one socket per interface and EtherType, reuses it, and reopens a closed one', async () => {
    const stack = fakeStack();
    const s = new PacketSocketSender(stack);
    const arp = Uint8Array.from(Buffer.from(vector('ka-garp-request').hex, 'hex'));
    const na = Uint8Array.from(Buffer.from(vector('ka-ipv6-unsolicited-na').hex, 'hex'));
    await Promise.all([
      s.sendFrame('eth0', arp),
      s.sendFrame('eth0', arp),
      s.sendFrame('eth0', na),
      s.sendFrame('eth1', arp),
    ]);
    expect(stack.opened.map((o) => `${o.interface}/${o.etherType.toString(16)}/${o.sent.length}`)).toEqual([
      'eth0/806/2',
      'eth0/86dd/1',
      'eth1/806/1',
    ]);
    (stack.opened[0] as { closed: boolean }).closed = true;
    await s.sendFrame('eth0', arp);
    expect(stack.opened).toHaveLength(4);
    await expect(s.sendFrame('missing', arp)).rejects.toThrow('NETIO_UNKNOWN_INTERFACE');
    await expect(s.sendFrame('eth0', new Uint8Array(10))).rejects.toMatchObject({ code: 'GARP_TRUNCATED' });
    await s.close();
    expect(stack.opened.every((o) => o.closed)).toBe(true);
    await expect(s.sendFrame('eth0', arp)).rejects.toMatchObject({ code: 'GARP_CLOSED' });
  });
});
