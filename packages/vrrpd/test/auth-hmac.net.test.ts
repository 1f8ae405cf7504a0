import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeNet, type Lab, type ManagedProcess, sourceNodeArgs, withLab } from '@proxyha/testlab';
import { expect, it } from 'vitest';
import { holdsVip, startProxyha, until } from './lab';

// authHmac on the wire, in namespaces: a and b run proxyha-vrrpd with the same key (VRRPv3, IPv4, 100 ms
// adverts); x is an attacker on the same bridge with an AF_PACKET socket (hmac-attacker.ts). b first runs
// with priority 254 and x captures its signed adverts; b restarts with priority 50, so a (100) is master.
// x then replays b's priority-254 adverts (at once: a newer one was accepted since, so a replay; after the
// freshness window: stale), and sends priority-254 adverts signed with a wrong key (from its own address
// and from b's) and unsigned ones. Nothing moves: a stays master and keeps the VIP; every refused advert
// is counted in the SIGUSR2 statistics and logged once per sender and reason.

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const WINDOW_S = 20;
const ATTACKER = join(import.meta.dirname, 'hmac-attacker.ts');

async function attack(lab: Lab, ...args: string[]): Promise<string> {
  const r = await lab.exec('x', process.execPath, [...sourceNodeArgs(ATTACKER), ...args], {
    timeoutMs: 60_000,
  });
  return r.stdout.trim();
}

/** proxyha's statistics line (SIGUSR2) for VI_1, parsed. */
async function statistics(p: ManagedProcess): Promise<{
  state: string;
  received: { received: number; byCode: Record<string, number> };
}> {
  const mark = p.output().length;
  p.signal('SIGUSR2');
  const m = await p.waitForOutput(/\(VI_1\) statistics (\{.*\})/, 5000, mark);
  return JSON.parse(m[1] as string);
}

describeNet('authHmac (draft-cassen-vrrp-auth-hmac) on the wire', () => {
  it('forged and replayed priority-254 adverts are counted and logged and change nothing', () =>
    withLab({ nodes: ['a', 'b', 'x'] }, async (lab) => {
      const dir = await lab.runDir('keys');
      const keyFile = join(dir, 'vrrp51.key');
      await writeFile(keyFile, `hex:${KEY}\n`);
      await chmod(keyFile, 0o600);
      const auth = `    authHmac:
      keys:
        - id: 1
          keyFile: ${keyFile}
      timeWindow: ${WINDOW_S}s
`;
      const opts = (priority: number) => ({ priority, intervalMs: 100, extra: auth });

      // 1. b (254) is master; x captures ten of its signed adverts
      let pb = await startProxyha(lab, 'b', opts(254));
      await pb.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      const pa = await startProxyha(lab, 'a', opts(100));
      await pa.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 10_000);
      const capture = join(dir, 'b-254.hex');
      const captured = await attack(lab, 'capture', capture, lab.node('b').ipv4, '10', '10000');
      // every advert is the 12-byte message and the 28-byte trailer
      expect(captured).toBe(`captured 10 ${Array(10).fill('40').join(',')}`);
      const capturedAt = performance.now();

      // 2. b comes back with priority 50: a (100) is master
      await pb.kill('SIGTERM');
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      const masterAt = pa.output().length;
      pb = await startProxyha(lab, 'b', opts(50));
      await pb.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 10_000);
      const b0 = await statistics(pb);
      await until(
        'b hears a',
        async () => (await statistics(pb)).received.received > b0.received.received + 5,
        10_000,
      );

      // 3. the replays: within the window (newer adverts of b were accepted since: a replay), then
      // after it (stale, refused before any HMAC is computed)
      expect(await attack(lab, 'replay', capture)).toBe('replayed 10');
      await pa.waitForOutput(
        /\(VI_1\) replayed authentication trailer from 192\.168\.77\.12/,
        10_000,
        masterAt,
      );
      await until(
        'ten replays counted',
        async () => (await statistics(pa)).received.byCode.VRRP_HMAC_REPLAY === 10,
        10_000,
      );
      await until(
        'the captures are older than the window',
        () => performance.now() - capturedAt > (WINDOW_S + 2) * 1000,
        60_000,
      );
      expect(await attack(lab, 'replay', capture)).toBe('replayed 10');
      await pa.waitForOutput(/\(VI_1\) stale authentication trailer from 192\.168\.77\.12/, 10_000, masterAt);

      // 4. forged with a wrong key, from x and from b's address; then unsigned
      const wrong = 'ff'.repeat(32);
      expect(await attack(lab, 'forge', lab.node('x').ipv4, '10', wrong)).toBe('forged 10');
      expect(await attack(lab, 'forge', lab.node('b').ipv4, '10', wrong)).toBe('forged 10');
      expect(await attack(lab, 'forge', lab.node('x').ipv4, '10', 'none')).toBe('forged 10');
      await pa.waitForOutput(
        /\(VI_1\) missing authentication trailer from 192\.168\.77\.13/,
        10_000,
        masterAt,
      );

      // 5. nothing moved
      const s = await statistics(pa);
      expect(s.state).toBe('master');
      expect(await holdsVip(lab, 'a')).toBe(true);
      expect(pa.output().slice(masterAt)).not.toMatch(/Entering BACKUP STATE/);
      expect(pb.output()).not.toMatch(/Entering MASTER STATE/);
      const c = s.received.byCode;
      expect(c.VRRP_HMAC_REPLAY).toBe(10);
      expect(c.VRRP_HMAC_STALE).toBe(10);
      expect(c.VRRP_HMAC_INVALID).toBe(20);
      expect(c.VRRP_HMAC_MISSING).toBe(10);
      // b refuses x's forgeries too (the kernel drops those claiming b's own address before any socket)
      const sb = await statistics(pb);
      expect(sb.state).toBe('backup');
      expect(sb.received.byCode.VRRP_HMAC_INVALID).toBe(10);
      expect(sb.received.byCode.VRRP_HMAC_MISSING).toBe(10);
      // logged once per sender and reason, in keepalived's words
      const lines = pa
        .output()
        .slice(masterAt)
        .split('\n')
        .filter((l) => /\(VI_1\) .*authentication/.test(l))
        .map((l) => l.replace(/^.*?\(VI_1\) /, ''));
      expect(lines).toEqual([
        'replayed authentication trailer from 192.168.77.12',
        expect.stringMatching(
          new RegExp(
            `^stale authentication trailer from 192\\.168\\.77\\.12, clock skew \\d+ sec exceeds window ${WINDOW_S} sec$`,
          ),
        ),
        'invalid authentication HMAC from 192.168.77.13',
        'invalid authentication HMAC from 192.168.77.12',
        'missing authentication trailer from 192.168.77.13',
      ]);
      await pa.kill('SIGTERM');
      await pb.kill('SIGTERM');
    }));

  it('IPv6: signed adverts (checksum over the trailer, link-local source bound) elect and hold', () =>
    withLab({ nodes: ['a', 'b'] }, async (lab) => {
      const dir = await lab.runDir('keys');
      const keyFile = join(dir, 'vrrp51.key');
      await writeFile(keyFile, `hex:${KEY}\n`);
      await chmod(keyFile, 0o600);
      const extra = `    authHmac:\n      keys:\n        - { id: 1, keyFile: ${keyFile} }\n`;
      const vip = 'fd77::74/64';
      const pa = await startProxyha(lab, 'a', { priority: 200, intervalMs: 100, vip, extra });
      await pa.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
      const pb = await startProxyha(lab, 'b', { priority: 100, intervalMs: 100, vip, extra });
      const b0 = await statistics(pb);
      await until(
        "b accepts twenty of a's adverts",
        async () => (await statistics(pb)).received.received >= b0.received.received + 20,
        20_000,
      );
      const sb = await statistics(pb);
      expect(sb.state).toBe('backup');
      expect(Object.entries(sb.received.byCode).filter(([, n]) => n > 0)).toEqual([]);
      expect(pb.output()).not.toMatch(/Entering MASTER STATE/);
      // enforce (the default): an advert without a valid trailer would have been counted above
      expect(pb.output()).toMatch(
        /\(VI_1\) authHmac mode enforce, active key 1, keys 1, anti-replay time, window 5 s/,
      );
      expect(await holdsVip(lab, 'a', 'fd77::74')).toBe(true);
      await pa.kill('SIGTERM');
      await pb.kill('SIGTERM');
    }));
});
