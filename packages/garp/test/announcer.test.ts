import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Announcer,
  type AnnouncerOptions,
  type GarpLogger,
  MemoryFrameSink,
  type PacketSocketLike,
  PacketSocketSender,
} from '../src/index';
import { toHex, vector } from './helpers';

function logger() {
  const lines: { level: string; msg: string; at: number }[] = [];
  const log: GarpLogger = {
    info: (msg) => lines.push({ level: 'info', msg, at: Date.now() }),
    warn: (msg) => lines.push({ level: 'warn', msg, at: Date.now() }),
    debug: (msg) => lines.push({ level: 'debug', msg, at: Date.now() }),
  };
  return { lines, log, info: () => lines.filter((l) => l.level === 'info').map((l) => l.msg) };
}

const T0 = 1_000_000;

function setup(policy?: AnnouncerOptions['policy']) {
  const sink = new MemoryFrameSink(() => Date.now() - T0);
  const l = logger();
  const a = new Announcer({
    sender: sink,
    logger: l.log,
    now: () => Date.now(),
    ...(policy ? { policy } : {}),
  });
  return { sink, a, ...l };
}

describe('Announcer (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends keepalived’s 5 + 5 gratuitous ARPs and logs its line for each burst', async () => {
    const { sink, a, info, lines } = setup();
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '46:cb:2c:84:db:0f', ipv4: ['192.168.77.74'] });
    await a.flush();
    expect(sink.sent.map((s) => s.at)).toEqual([0, 0, 0, 0, 0]);
    expect(
      sink.sent.every((s) => s.ifname === 'eth0' && toHex(s.frame) === vector('ka-garp-request').hex),
    ).toBe(true);
    expect(info()).toEqual(['(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.77.74']);
    expect(lines.filter((l) => l.level === 'debug').map((l) => l.msg)).toEqual(
      Array(5).fill('(VI_1) Sending gratuitous ARP on eth0 for 192.168.77.74'),
    );
    await vi.advanceTimersByTimeAsync(4999);
    expect(sink.sent).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1);
    await a.flush();
    expect(sink.sent.map((s) => s.at)).toEqual([0, 0, 0, 0, 0, 5000, 5000, 5000, 5000, 5000]);
    expect(info()).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
    expect(a.stats).toEqual({ sent: 10, failed: 0, queued: 0 });
  });

  it('uses keepalived’s wording for IPv6', async () => {
    const { sink, a, info } = setup({ repeat: 1, secondBurstDelayMs: 0 });
    a.announce({ instance: 'VI_6', ifname: 'eth0', mac: '46:cb:2c:84:db:0f', ipv6: ['fd77::74'] });
    await a.flush();
    expect(info()).toEqual(['(VI_6) Sending/queueing Unsolicited Neighbour Adverts on eth0 for fd77::74']);
    expect(toHex(sink.sent[0]?.frame ?? new Uint8Array())).toBe(vector('ka-ipv6-unsolicited-na').hex);
  });

  it('spaces frames on an interface by the rate limit with real timers', async () => {
    const { sink, a } = setup({ arpIntervalMs: 20, secondBurstDelayMs: 0 });
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    a.announce({ instance: 'VI_2', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.2'] });
    await vi.advanceTimersByTimeAsync(1000);
    expect(sink.sent.map((s) => s.at)).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180]);
  });

  it('stop() cancels queued frames and the second burst, and leaves no timer behind', async () => {
    const { sink, a } = setup({ arpIntervalMs: 100 });
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await vi.advanceTimersByTimeAsync(150);
    expect(sink.sent).toHaveLength(2);
    expect(a.stop('VI_1')).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sink.sent).toHaveLength(2);
  });

  it('reassert() re-announces at once and after the delay', async () => {
    const { sink, a, info } = setup({
      repeat: 1,
      secondBurstDelayMs: 0,
      reassertRepeat: 2,
      reassertDelayMs: 3000,
    });
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.reassert('VI_1')).toBe(true);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sink.sent.map((s) => s.at)).toEqual([0, 1000, 1000, 4000, 4000]);
    expect(info()).toHaveLength(3);
    expect(a.reassert('nobody')).toBe(false);
  });

  it('logs and counts send failures and keeps going', async () => {
    const { sink, a, lines } = setup({ repeat: 2, secondBurstDelayMs: 1000 });
    sink.failWith = new Error('Network is down');
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await a.flush();
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(
      Array(2).fill('(VI_1) Error sending gratuitous ARP on eth0 for 10.0.0.1: Network is down'),
    );
    sink.failWith = undefined;
    await vi.advanceTimersByTimeAsync(1000);
    await a.flush();
    expect(a.stats).toEqual({ sent: 2, failed: 2, queued: 0 });
  });

  it('hands frames to the sender one at a time, in order, even when sends are slow', async () => {
    const order: string[] = [];
    let inFlight = 0;
    const slow = {
      async sendFrame(_ifname: string, frame: Uint8Array) {
        inFlight++;
        expect(inFlight).toBe(1);
        await new Promise((r) => setTimeout(r, 5));
        order.push(toHex(frame.subarray(28, 32)));
        inFlight--;
      },
    };
    const a = new Announcer({
      sender: slow,
      now: () => Date.now(),
      policy: { repeat: 1, secondBurstDelayMs: 0 },
    });
    a.announce({
      instance: 'VI_1',
      ifname: 'eth0',
      mac: '02:00:00:00:00:01',
      ipv4: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    });
    await vi.advanceTimersByTimeAsync(100);
    await a.flush();
    expect(order).toEqual(['0a000001', '0a000002', '0a000003']);
  });

  it('close() stops everything, waits for sends in flight and ignores later calls', async () => {
    const { sink, a } = setup({ arpIntervalMs: 100, refreshIntervalMs: 1000 });
    a.announce({ instance: 'VI_1', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.1'] });
    await a.close();
    expect(vi.getTimerCount()).toBe(0);
    a.announce({ instance: 'VI_2', ifname: 'eth0', mac: '02:00:00:00:00:01', ipv4: ['10.0.0.2'] });
    expect(a.reassert('VI_1')).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sink.sent).toHaveLength(1);
    expect(a.stats.queued).toBe(0);
  });

  it('rejects an invalid request synchronously and stays usable', async () => {
    const { sink, a } = setup({ repeat: 1, secondBurstDelayMs: 0 });
    expect(() => a.announce({ instance: 'VI_1', ifname: 'eth0', mac: 'zz', ipv4: ['10.0.0.1'] })).toThrow(
      expect.objectContaining({ code: 'GARP_BAD_MAC' }),
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
    await expect(s.sendFrame('eth0', arp)).rejects.toMatchObject({ code: 'GARP_BAD_REQUEST' });
  });
});
