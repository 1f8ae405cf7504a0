import { join } from 'node:path';
import { describeNet, sourceNodeArgs, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { lines } from './helpers';

const fixture = join(import.meta.dirname, 'fixtures', 'macvlan-in-netns.ts');

describeNet('macvlans in a namespace', () => {
  it('LinuxMacvlanManager: private macvlans with their MAC, ARP and IPv6 settings before they come up, operationally up when create/setUp resolve, the parent restored after the last one', () =>
    withLab({ nodes: ['a'] }, async (lab) => {
      const p = lab.spawn('a', process.execPath, sourceNodeArgs(fixture), { name: 'macvlan' });
      const exit = await p.exited;
      expect(exit.code, p.output()).toBe(0);
      const steps = Object.fromEntries(
        lines(p.output(), 'STEP').map(({ value }) => [value.name as string, value.value]),
      );
      const original = { arpIgnore: '0', arpFilter: '0', arpAnnounce: '0' };
      expect(steps.before).toEqual({ parent: original });
      expect(steps['created ipv4']).toEqual({
        link: {
          operstate: 'up',
          mac: '00:00:5e:00:01:33',
          arpIgnore: '1',
          disableIpv6: '1',
          linkLocal: false,
        },
        parent: { arpIgnore: '1', arpFilter: '1', arpAnnounce: '2' },
      });
      expect(steps['created ipv6']).toEqual({
        link: {
          operstate: 'up',
          mac: '00:00:5e:00:02:33',
          arpIgnore: '1',
          disableIpv6: '0',
          linkLocal: false,
        },
      });
      // the control: a macvlan without a family gets the kernel's link-local address
      expect(steps['created plain']).toMatchObject({ link: { operstate: 'up', linkLocal: true } });
      expect(steps.down).toMatchObject({ link: { operstate: 'down' } });
      expect(steps.up).toMatchObject({ link: { operstate: 'up' } });
      // vrrp6.51 still isolates the parent
      expect(steps['removed ipv4']).toEqual({ parent: { arpIgnore: '1', arpFilter: '1', arpAnnounce: '2' } });
      expect(steps['removed all']).toEqual({ parent: original, list: [], links: false });
    }));
});
