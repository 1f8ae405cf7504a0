import { MemoryLogger } from '@proxyha/common';
import { type AnnounceRequest, Announcer } from '@proxyha/garp';
import { MemoryNetwork } from '@proxyha/netio';
import { MemoryVipManager } from '@proxyha/vrrp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAnnouncer, parseVrrpDaemonConfig, RawTransport, VrrpDaemon } from '../src/index';
import { useVirtualTime } from './helpers';

// createAnnouncer's warm(): the announcement of each instance is prepared (validated and encoded) at start,
// and it is the very request the first takeover announces, so garp's prepare cache is hit.
const time = useVirtualTime();
afterEach(() => {
  vi.restoreAllMocks();
});

describe('createAnnouncer warm-up', () => {
  for (const garp of [undefined, { repeat: 2, refreshInterval: '1m' }]) {
    it(`prepares the request the takeover announces (${garp ? 'with' : 'without'} garp settings), sending nothing before it`, async () => {
      const net = new MemoryNetwork({ clock: time.clock });
      const host = net.addHost('a', { interfaces: [{ name: 'eth0', ipv4: ['192.168.77.11/24'] }] });
      const config = parseVrrpDaemonConfig({
        instances: [
          {
            name: 'VI_1',
            interface: 'eth0',
            vrid: 51,
            version: 3,
            advertInterval: '50ms',
            sourceAddress: '192.168.77.11',
            virtualIps: ['192.168.77.74/24', '192.168.77.75'],
            ...(garp ? { garp } : {}),
          },
        ],
      });
      const prepared: AnnounceRequest[] = [];
      const announced: AnnounceRequest[] = [];
      const prepare = Announcer.prototype.prepare;
      const announce = Announcer.prototype.announce;
      vi.spyOn(Announcer.prototype, 'prepare').mockImplementation(function (this: Announcer, r) {
        prepared.push(r);
        prepare.call(this, r);
      });
      vi.spyOn(Announcer.prototype, 'announce').mockImplementation(function (this: Announcer, r) {
        announced.push(r);
        announce.call(this, r);
      });
      const announcer = createAnnouncer(host, new MemoryLogger(), config, time.clock);
      const frames: number[] = [];
      const capture = await host.openPacketSocket({
        interface: 'eth0',
        etherType: 0x0806,
        includeOutgoing: true,
      });
      capture.onPacket(() => frames.push(time.clock.now()));
      const d = new VrrpDaemon(config, {
        clock: time.clock,
        vips: new MemoryVipManager(),
        announce: announcer.hook,
        onTransition: announcer.onTransition,
        links: host,
        transports: (inst, primary) =>
          new RawTransport({ interface: inst.interface, family: 'ipv4', source: primary, stack: host }),
      });
      time.daemons.push(d);
      await d.start();
      await announcer.warm(['eth0']);
      // the warm-up's own burst went nowhere; the instance's request is prepared
      await time.clock.advanceAsync(1);
      expect(frames).toEqual([]);
      expect(prepared).toHaveLength(1);
      expect(prepared[0]).toMatchObject({
        instance: 'VI_1',
        ifname: 'eth0',
        ipv4: ['192.168.77.74', '192.168.77.75'],
      });

      await time.until('master', () => d.routers.get('VI_1')?.snapshot().state === 'master');
      await time.until('announced', () => frames.length > 0);
      const real = announced.filter((r) => r.instance === 'VI_1');
      expect(real).toHaveLength(1);
      // equal as garp's cache compares them: field for field, in JSON
      expect(JSON.stringify(real[0])).toBe(JSON.stringify(prepared[0]));
      capture.close();
      await announcer.close();
    });
  }
});
