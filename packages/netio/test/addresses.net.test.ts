import { describeNet, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { pkg, requireBuilt } from './helpers';

// addAddress / removeAddress over rtnetlink, run by the built package inside a lab node.
const script = (body: string) => `
  const { linuxStack: s } = await import(${JSON.stringify(`${pkg}/dist/index.js`)});
  const out = (k, v) => console.log(k + ' ' + JSON.stringify(v));
  const attempt = async (k, f) => { try { await f(); out(k, 'ok'); } catch (e) { out(k, e.code); } };
  ${body}`;

describeNet('netio addresses (rtnetlink)', () => {
  it('adds and removes IPv4 and IPv6 addresses, idempotently, with typed errors', () =>
    withLab({ nodes: ['a'] }, async (lab) => {
      requireBuilt();
      const run = async (body: string, user?: string) => {
        const argv = [process.execPath, '--input-type=module', '-e', script(body)];
        const r = user
          ? await lab.exec('a', 'setpriv', [`--reuid=${user}`, '--regid=nogroup', '--clear-groups', ...argv])
          : await lab.exec('a', argv[0] as string, argv.slice(1));
        return Object.fromEntries(
          r.stdout
            .trim()
            .split('\n')
            .map((l) => [l.split(' ')[0], JSON.parse(l.slice(l.indexOf(' ') + 1))]),
        );
      };
      const addrs = async () => (await lab.exec('a', 'ip', ['-o', 'addr', 'show', 'dev', 'eth0'])).stdout;

      const t0 = performance.now();
      const added = await run(`
        await attempt('add4', () => s.addAddress('eth0', '192.168.77.74/24'));
        await attempt('again4', () => s.addAddress('eth0', '192.168.77.74/24'));
        await attempt('add6', () => s.addAddress('eth0', 'fd77::74/64'));
        await attempt('unknown', () => s.addAddress('nope0', '192.168.77.75/24'));
        await attempt('bad', () => s.addAddress('eth0', '192.168.77.300/24'));
        await attempt('noprefix', () => s.addAddress('eth0', '192.168.77.75'));
        const t = performance.now();
        for (let i = 0; i < 100; i++) { await s.addAddress('eth0', '10.9.9.9/32'); await s.removeAddress('eth0', '10.9.9.9/32'); }
        out('per_change_ms', (performance.now() - t) / 200);`);
      expect(added).toMatchObject({
        add4: 'ok',
        again4: 'ok',
        add6: 'ok',
        unknown: 'NETIO_UNKNOWN_INTERFACE',
        bad: 'NETIO_INVALID_ARGUMENT',
        noprefix: 'NETIO_INVALID_ARGUMENT',
      });
      console.log(
        `rtnetlink address change: ${added.per_change_ms.toFixed(3)} ms each (process ${(performance.now() - t0).toFixed(0)} ms)`,
      );
      const shown = await addrs();
      expect(shown).toMatch(/inet 192\.168\.77\.74\/24/);
      expect(shown).toMatch(/inet6 fd77::74\/64 scope global (nodad )?/);
      expect(shown).not.toMatch(/tentative/);
      expect(shown).not.toContain('10.9.9.9');

      const denied = await run(
        `await attempt('denied', () => s.addAddress('eth0', '192.168.77.76/24'));`,
        'nobody',
      );
      expect(denied.denied).toBe('NETIO_PERMISSION');

      const removed = await run(`
        await attempt('del4', () => s.removeAddress('eth0', '192.168.77.74/24'));
        await attempt('del6', () => s.removeAddress('eth0', 'fd77::74/64'));
        await attempt('absent', () => s.removeAddress('eth0', '192.168.77.74/24'));`);
      expect(removed).toEqual({ del4: 'ok', del6: 'ok', absent: 'ok' });
      expect(await addrs()).not.toMatch(/192\.168\.77\.74|fd77::74/);
    }));
});
