// proxyha-lb on a namespace bridge: nodes a, b, c in group 51 (a stand-in proxy on 9090 each), node d
// directing group 52 on the same LAN. The VIP is added by hand: the director learns every node, drains
// one whose proxy stops, fails one whose daemon dies, ignores the other group, detects a split brain;
// tshark decodes every protocol-253 packet with the shipped Lua dissector.
import { readFile } from 'node:fs/promises';
import { describeNet, type TsharkLayers, tsharkField, tsharkProblems, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { decodeMessage } from '../src/codec/index';
import { DISSECTOR, lbStatus, logLines, pcapPayloads, startLb, startProxy, until, vip } from './lb-lab';

const INTERVAL = 500;

describeNet('proxyha-lb on a LAN (IP protocol 253)', () => {
  it('discovers, drains, fails, keeps groups apart, detects a split brain, and tshark decodes it all', async () => {
    await withLab({ nodes: ['a', 'b', 'c', 'd'], ipv6: false }, async (lab) => {
      const [ipA, ipB, ipC] = ['a', 'b', 'c'].map((n) => lab.node(n).ipv4) as [string, string, string];
      const proxies = Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [n, startProxy(lab, n)]));
      const cap = await lab.capture('bridge', 'ip proto 253');

      // the nodes share this host: its CPU says nothing about one of them, so equal shares need loadAware off
      const a = await startLb(lab, 'a', { intervalMs: INTERVAL, loadAware: false });
      const b = await startLb(lab, 'b', { intervalMs: INTERVAL, loadAware: false });
      const c = await startLb(lab, 'c', { intervalMs: INTERVAL, loadAware: false });
      const d = await startLb(lab, 'd', { intervalMs: INTERVAL, group: 52, vip: '192.168.77.75' });
      await vip(lab, 'd', 'add', '192.168.77.75');

      // 1. the VIP appears on a: a becomes director, every node reports to it
      await vip(lab, 'a', 'add');
      await a.proc.waitForOutput(/"msg":"set lbnetwork 1"/, 10_000);
      await a.proc.waitForOutput(/"msg":"state=master previous=backup"/, 10_000);
      for (const [n, ip] of [
        ['b', ipB],
        ['c', ipC],
      ] as const) {
        await a.proc.waitForOutput(
          new RegExp(`Scanning partner has joined ${ip.replaceAll('.', '\\.')} \\(${n}\\)`),
          10_000,
        );
      }
      await b.proc.waitForOutput(new RegExp(`director is ${ipA.replaceAll('.', '\\.')} \\(a\\)`), 10_000);
      await until(
        'a lists a, b and c, all healthy, sharing the table',
        async () => {
          const s = await lbStatus(lab, 'a', a);
          return (
            s.role === 'director' &&
            s.nodes.length === 3 &&
            s.nodes.every((n) => n.health === 'ok' && n.share > 0.3 && n.share < 0.37)
          );
        },
        15_000,
      );
      const sa = await lbStatus(lab, 'a', a);
      expect(sa.nodes.map((n) => n.address).sort()).toEqual([ipA, ipB, ipC].sort());
      expect(sa.director?.address).toBe(ipA);
      // a scanning node shows the director and only itself
      const sb = await lbStatus(lab, 'b', b);
      expect(sb.role).toBe('scanner');
      expect(sb.director?.address).toBe(ipA);
      expect(sb.nodes.map((n) => n.address)).toEqual([ipB]);

      // 2. group 52 on the same LAN: its director is alone, group 51 ignores it
      const sd = await lbStatus(lab, 'd', d);
      expect(sd.role).toBe('director');
      expect(sd.nodes.map((n) => n.name)).toEqual(['d']);
      expect(sd.counters.otherGroup).toBeGreaterThan(0);
      expect(sa.counters.otherGroup).toBeGreaterThan(0);
      expect(sa.nodes.some((n) => n.name === 'd')).toBe(false);

      // 3. b's proxy stops: b is drained (no share) but stays listed; it returns when the port answers
      await proxies.b?.kill('SIGKILL');
      await a.proc.waitForOutput(
        new RegExp(
          `Scanning partner ${ipB.replaceAll('.', '\\.')} \\(b\\) is draining: current state: failure \\(port 9090\\)`,
        ),
        15_000,
      );
      const drained = await lbStatus(lab, 'a', a);
      const nb = drained.nodes.find((n) => n.name === 'b');
      expect(nb?.health).toBe('failure');
      expect(nb?.share).toBe(0);
      const mark = a.proc.stdout().length;
      proxies.b = startProxy(lab, 'b');
      await a.proc.waitForOutput(
        new RegExp(`Scanning partner ${ipB.replaceAll('.', '\\.')} \\(b\\) has recovered`),
        15_000,
        mark,
      );

      // 4. c's daemon dies: after its reports stop for three intervals a declares it failed
      await c.proc.kill('SIGKILL');
      await a.proc.waitForOutput(
        new RegExp(`Scanning partner has failed ${ipC.replaceAll('.', '\\.')}"`),
        15_000,
      );
      // (that it takes exactly three intervals is checked on the virtual clock: driver.test.ts, membership tests)
      expect(logLines(a.proc).some((l) => l.msg === `Scanning partner has failed ${ipC}`)).toBe(true);
      const after = await lbStatus(lab, 'a', a);
      expect(after.nodes.map((n) => n.name).sort()).toEqual(['a', 'b']);

      // 5. split brain: the VIP on b as well; b detects a, scanners follow one by the documented rule
      await vip(lab, 'b', 'add');
      await b.proc.waitForOutput(/"msg":"state=master previous=backup"/, 10_000);
      await a.proc.waitForOutput(/split brain: 2 directors announce group 51/, 10_000);
      await until(
        'both directors show the split brain',
        async () => {
          const [x, y] = await Promise.all([lbStatus(lab, 'a', a), lbStatus(lab, 'b', b)]);
          return x.splitBrain && y.splitBrain;
        },
        10_000,
      );
      await vip(lab, 'b', 'del');
      await b.proc.waitForOutput(/"msg":"state=backup previous=master"/, 10_000);
      await until('the split brain heals', async () => !(await lbStatus(lab, 'a', a)).splitBrain, 15_000);

      // 6. the wire: reports are unicast to the director, announcements broadcast; every packet decodes
      //    with our codec and with tshark's Lua dissector, without a malformed or expert warning
      await cap.stop();
      const packets = pcapPayloads(await readFile(cap.file));
      expect(packets.length).toBeGreaterThan(20);
      for (const p of packets) {
        const m = decodeMessage(p.payload);
        expect(m.ok, `packet from ${p.source}`).toBe(true);
        if (!m.ok) continue;
        if (m.value.type === 'announcement') expect(p.destination).toBe('255.255.255.255');
        else expect([ipA, ipB]).toContain(p.destination);
      }
      const frames: TsharkLayers[] = await cap.dissect(['-X', `lua_script:${DISSECTOR}`]);
      expect(frames.length).toBe(packets.length);
      for (const f of frames) {
        expect(f.proxyha_lb, 'dissected by proxyha_lb').toBeDefined();
        expect(tsharkProblems(f)).toEqual([]);
        expect(['51', '52']).toContain(tsharkField(f, 'proxyha_lb.group'));
      }
    });
  });
});
