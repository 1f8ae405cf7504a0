import { MemoryLogger } from '@proxyha/common';
import { type MemoryHost, MemoryNetwork } from '@proxyha/netio';
import { MemoryVipManager } from '@proxyha/vrrp';
import { describe, expect, it } from 'vitest';
import { parseVrrpDaemonConfig, RawTransport, VrrpDaemon } from '../src/index';
import { useVirtualTime } from './helpers';

// Two daemons on the manual clock over netio's in-memory network: link state comes from the twin's
// interface watcher, as it comes from rtnetlink on Linux.
const time = useVirtualTime();
const { daemons, until } = time;

function daemon(host: MemoryHost, address: string, instance: object) {
  const log = new MemoryLogger();
  const config = parseVrrpDaemonConfig({
    instances: [
      {
        name: 'VI_1',
        interface: 'eth0',
        vrid: 51,
        version: 3,
        advertInterval: '50ms',
        virtualIps: ['192.168.77.74/24'],
        sourceAddress: address,
        ...instance,
      },
    ],
  });
  const d = new VrrpDaemon(config, {
    clock: time.clock,
    vips: new MemoryVipManager(),
    links: host,
    transports: (inst, primary) =>
      new RawTransport({ interface: inst.interface, family: 'ipv4', source: primary, stack: host }),
    logger: log,
  });
  daemons.push(d);
  return {
    d,
    get lines() {
      return log.lines('info');
    },
    state: () => d.routers.get('VI_1')?.snapshot(),
  };
}

function lan() {
  const net = new MemoryNetwork({ clock: time.clock });
  const host = (name: string, last: number) =>
    net.addHost(name, {
      interfaces: [
        { name: 'eth0', ipv4: [`192.168.77.${last}/24`] },
        { name: 'eth1', segment: `uplink-${name}`, ipv4: [`10.0.${last}.1/24`] },
      ],
    });
  return { a: host('a', 11), b: host('b', 12) };
}

describe('VrrpDaemon link tracking (keepalived: interface fault, track_interface)', () => {
  it("the instance's own interface losing its link means fault; the peer takes over; the link returns", async () => {
    const { a, b } = lan();
    const na = daemon(a, '192.168.77.11', { priority: 150 });
    const nb = daemon(b, '192.168.77.12', { priority: 100 });
    await na.d.start();
    await nb.d.start();
    await until('a master', () => na.state()?.state === 'master' && nb.state()?.state === 'backup');

    a.setLinkUp('eth0', false);
    await until('a in fault', () => na.state()?.state === 'fault');
    expect(na.state()?.faultReasons).toContain('interfaceDown');
    expect(na.lines).toContain('(VI_1) Interface eth0 down');
    await until('b master', () => nb.state()?.state === 'master');

    a.setLinkUp('eth0', true);
    await until('a master again', () => na.state()?.state === 'master' && nb.state()?.state === 'backup');
    expect(na.lines).toContain('(VI_1) Interface eth0 up');
  });

  it('a tracked interface going down lowers the priority by its weight', async () => {
    const { a, b } = lan();
    const na = daemon(a, '192.168.77.11', {
      priority: 150,
      trackInterfaces: [{ name: 'eth1', weight: -100 }],
    });
    const nb = daemon(b, '192.168.77.12', { priority: 100 });
    await na.d.start();
    await nb.d.start();
    await until('a master', () => na.state()?.state === 'master');

    a.setLinkUp('eth1', false);
    await until('b master', () => nb.state()?.state === 'master' && na.state()?.state === 'backup');
    expect(na.state()?.effectivePriority).toBe(50);

    a.setLinkUp('eth1', true);
    await until('a master again', () => na.state()?.state === 'master');
    expect(na.state()?.effectivePriority).toBe(150);
  });

  it('an instance whose interface is already down at start begins in fault', async () => {
    const { a } = lan();
    a.setLinkUp('eth0', false);
    const na = daemon(a, '192.168.77.11', { priority: 150 });
    await na.d.start();
    await until('a in fault', () => na.state()?.state === 'fault');
  });
});
