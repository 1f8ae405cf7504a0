import { ManualClock } from '@proxyha/common';
import { describe, expect, it, vi } from 'vitest';
import { checkSkew } from '../src/driver/check-skew';
import { NtpClient } from '../src/driver/client';
import type { NtpSample } from '../src/machine/reply';
import type { NtpServerResult } from '../src/machine/skew';
import { closedPort, startNtpServer, withServers } from './helpers/ntp-server';

function expectOk(r: NtpServerResult) {
  if (!r.ok) throw new Error(`expected a sample, got ${r.error.code}: ${r.error.message}`);
  return r;
}
/**
 * The on-wire guarantee: the true offset lies within θ ± δ/2 (plus clock reading
 * error, 0.5 ms allowed). Event-loop latency on a loaded machine widens δ, never breaks this.
 */
function expectWithinBound(sample: NtpSample, trueOffsetMs: number) {
  expect(Math.abs(sample.offsetMs - trueOffsetMs)).toBeLessThanOrEqual(sample.delayMs / 2 + 0.5);
}
function expectError(r: NtpServerResult) {
  if (r.ok) throw new Error(`expected an error, got offset ${r.sample.offsetMs} ms`);
  return r;
}

describe('NtpClient against the suite NTP server on loopback', () => {
  it('measures served clocks shifted by +120 s and -3.5 s within the on-wire bound', async () => {
    await withServers([{ shiftMs: 120_000 }, { shiftMs: -3_500 }], async ([a, b]) => {
      const client = new NtpClient({ timeout: 1000 });
      const [ra, rb] = (await client.queryAll([a!.label, b!.label])).map(expectOk);
      expectWithinBound(ra!.sample, 120_000);
      expectWithinBound(rb!.sample, -3_500);
      expect(ra!.sample.stratum).toBe(2);
      expect(ra!.discarded).toBe(0);
      expect([a!.requests, b!.requests]).toEqual([1, 1]);
      expect(ra!.fresh).toBe(true);
      expect(ra!.server).toBe(a!.label);
    });
  });

  it('rejects leap indicator 3 as unsynchronized', async () => {
    await withServers([{ leap: 3 }], async ([s]) => {
      const r = expectError(await new NtpClient({ timeout: 1000 }).query(s!.label));
      expect(r.error.code).toBe('NTP_UNSYNCHRONIZED');
      expect(r.error.message).toBe('unsynchronized (leap indicator 3)');
    });
  });

  it('rejects stratum 16 as unsynchronized', async () => {
    await withServers([{ stratum: 16 }], async ([s]) => {
      const r = expectError(await new NtpClient({ timeout: 1000 }).query(s!.label));
      expect(r.error.message).toBe('unsynchronized (stratum 16)');
    });
  });

  it("backs off after a Kiss-o'-Death RATE", async () => {
    await withServers([{ kiss: 'RATE' }], async ([s]) => {
      const clock = new ManualClock();
      const client = new NtpClient({ timeout: 1000, clock });
      const r = expectError(await client.query(s!.label));
      expect(r.error.code).toBe('NTP_KISS_OF_DEATH');
      expect(r.error.message).toBe("Kiss-o'-Death RATE");
      expect(s!.requests).toBe(1);
      clock.advance(17_000); // past the 16 s minimum, not past the doubled 32 s
      const held = expectError(await client.query(s!.label));
      expect(held.error.code).toBe('NTP_POLL_TOO_SOON');
      expect(held.error.message).toMatch(/backing off after Kiss-o'-Death RATE \(interval 32 s\)/);
      expect(s!.requests).toBe(1);
      clock.advance(16_000);
      expect(expectError(await client.query(s!.label)).error.code).toBe('NTP_KISS_OF_DEATH');
      expect(s!.requests).toBe(2);
      clock.advance(33_000); // now 64 s
      expect(expectError(await client.query(s!.label)).error.code).toBe('NTP_POLL_TOO_SOON');
      expect(s!.requests).toBe(2);
    });
  });

  for (const kiss of ['DENY', 'RSTR']) {
    it(`stops asking a server after a Kiss-o'-Death ${kiss}`, async () => {
      await withServers([{ kiss }], async ([s]) => {
        const clock = new ManualClock();
        const client = new NtpClient({ timeout: 1000, clock });
        expect(expectError(await client.query(s!.label)).error.message).toBe(`Kiss-o'-Death ${kiss}`);
        s!.behaviour = {}; // even if it would answer now
        clock.advance(86_400_000);
        const r = expectError(await client.query(s!.label));
        expect(r.error.code).toBe('NTP_SERVER_STOPPED');
        expect(r.error.message).toBe(`Kiss-o'-Death ${kiss}: not asking ${s!.label} again`);
        expect(s!.requests).toBe(1);
      });
    });
  }

  it('discards a reply with a forged originate timestamp and reports it when no genuine reply comes', async () => {
    await withServers([{ forgeOriginate: true }], async ([s]) => {
      const r = expectError(await new NtpClient({ timeout: 300 }).query(s!.label));
      expect(r.error.code).toBe('NTP_BOGUS_ORIGINATE');
      expect(r.error.message).toMatch(/^forged reply \(originate timestamp does not match the request\)/);
      expect(r.discarded).toBe(1);
    });
  });

  it('ignores a forged reply that arrives first and takes the genuine one', async () => {
    await withServers([{ forgedFirst: true, shiftMs: 42 }], async ([s]) => {
      const r = expectOk(await new NtpClient({ timeout: 1000 }).query(s!.label));
      expect(r.discarded).toBe(1);
      expectWithinBound(r.sample, 42);
    });
  });

  it('does not even see replies from another source port', async () => {
    await withServers([{ replyFromOtherPort: true }], async ([s]) => {
      const r = expectError(await new NtpClient({ timeout: 300 }).query(s!.label));
      expect(r.error.code).toBe('NTP_TIMEOUT');
      expect(s!.requests).toBe(1);
    });
  });

  it('treats a genuine reply in the wrong mode as bad', async () => {
    await withServers([{ mode: 5 }], async ([s]) => {
      expect(expectError(await new NtpClient({ timeout: 1000 }).query(s!.label)).error.code).toBe(
        'NTP_BAD_MODE',
      );
    });
  });

  it('times out on a silent server, at the timeout and not before', async () => {
    await withServers([{ silent: true }], async ([s]) => {
      const clock = new ManualClock();
      let result: NtpServerResult | undefined;
      const query = new NtpClient({ timeout: 250, clock }).query(s!.label).then((r) => {
        result = r;
        return r;
      });
      await vi.waitFor(() => expect(s!.requests).toBe(1)); // the request went out; no virtual time passed
      await clock.advanceAsync(249);
      expect(result).toBeUndefined();
      await clock.advanceAsync(1);
      const r = expectError(await query);
      expect(r.error.code).toBe('NTP_TIMEOUT');
      expect(r.error.message).toBe(`no reply from ${s!.label} within 250 ms`);
      expect(r.error.details).toMatchObject({ server: s!.label, timeoutMs: 250 });
      expect(clock.now()).toBe(250);
    });
  });

  it('reports ICMP port unreachable as a socket error', async () => {
    const port = await closedPort();
    const r = expectError(await new NtpClient({ timeout: 1000 }).query(`127.0.0.1:${port}`));
    expect(r.error.code).toBe('NTP_SOCKET_ERROR');
    expect(r.error.message).toMatch(/connection refused/);
  });

  it('queries over IPv6 loopback', async () => {
    const s = await startNtpServer({ shiftMs: -750 }, undefined, '::1');
    try {
      const r = expectOk(await new NtpClient({ timeout: 1000 }).query(s.label));
      expect(r.server).toBe(s.label);
      expectWithinBound(r.sample, -750);
    } finally {
      await s.close();
    }
  });

  it('reports unparsable servers without sending anything', async () => {
    const r = expectError(await new NtpClient().query('127.0.0.1:99999'));
    expect(r.error.code).toBe('NTP_BAD_SERVER');
  });

  it('never polls a server more often than the minimum interval; reuses the sample, corrected for clock steps', async () => {
    // Server and client read manual clocks moved together (so that the measured offset is exact);
    // only the client's wall clock is stepped.
    const timeline = new ManualClock();
    const local = new ManualClock();
    const both = (ms: number) => {
      timeline.advance(ms);
      local.advance(ms);
    };
    await withServers(
      [{ shiftMs: 250 }],
      async ([s]) => {
        const ntp = new NtpClient({ timeout: 1000, clock: local });
        const first = expectOk(await ntp.query(s!.label));
        expect(first.sample.offsetMs).toBeCloseTo(250, 6);
        both(5_000);
        local.stepWall(1_000); // someone sets the local clock 1 s ahead
        const again = expectOk(await ntp.query(s!.label));
        expect(s!.requests).toBe(1);
        expect(again.fresh).toBe(false);
        expect(again.ageMs).toBe(5_000);
        expect(again.sample.offsetMs).toBeCloseTo(first.sample.offsetMs - 1_000, 6);
        expect(again.sample.rootDistanceMs).toBeCloseTo(first.sample.rootDistanceMs + 15e-6 * 5_000, 9);
        both(10_999); // 15.999 s after the first request
        expect(expectOk(await ntp.query(s!.label)).fresh).toBe(false);
        expect(s!.requests).toBe(1);
        both(1); // 16 s: the minimum interval has passed
        const fresh = expectOk(await ntp.query(s!.label));
        expect(fresh.fresh).toBe(true);
        expect(s!.requests).toBe(2);
        expect(fresh.sample.offsetMs).toBeCloseTo(250 - 1_000, 6);
      },
      timeline,
    );
  });

  it('shares one request between concurrent queries of the same server', async () => {
    await withServers([{ replyDelayMs: 50 }], async ([s]) => {
      const client = new NtpClient({ timeout: 1000 });
      const rs = await client.queryAll([s!.label, s!.label, s!.label]);
      rs.forEach(expectOk);
      expect(s!.requests).toBe(1);
    });
  });

  it('refuses a minimum poll interval below the RFC 4330 floor of 15 s, and other bad options', () => {
    expect(() => new NtpClient({ minPollInterval: '10s' })).toThrowError(
      expect.objectContaining({
        code: 'NTP_INVALID_ARGUMENT',
        message:
          'NTP client options: invalid configuration:\n' +
          '  minPollInterval: must be at least 15s (RFC 4330 section 10) (got 10s)',
        details: {
          issues: [
            { path: 'minPollInterval', message: 'must be at least 15s (RFC 4330 section 10) (got 10s)' },
          ],
        },
      }),
    );
    expect(() => new NtpClient({ timeout: 'soon' })).toThrowError(/timeout: not a duration: "soon"/);
    expect(() => new NtpClient({ version: 2 as 4 })).toThrowError(/version: must be 3 or 4 \(got 2\)/);
    expect(() => new NtpClient({ clock: {} as ManualClock })).toThrowError(/clock: must be a Clock/);
    expect(() => new NtpClient({ minPollInterval: '15s', timeout: '2s' })).not.toThrow();
    expect(() => new NtpClient({ clock: new ManualClock() })).not.toThrow();
  });
});

describe('checkSkew on loopback servers', () => {
  it('names the server 120 s off as falseticker and follows the other two', async () => {
    await withServers([{}, { shiftMs: 120_000 }, { shiftMs: 1 }], async ([a, b, c]) => {
      const report = await checkSkew({
        servers: [a!.label, b!.label, c!.label],
        maxOffset: '500ms',
        timeout: '1s',
      });
      expect(report.verdict).toBe('ok');
      expect(report.falsetickers).toEqual([b!.label]);
      expect(report.truechimers).toEqual([a!.label, c!.label]);
      expect(Math.abs(report.offsetMs! - 0.5)).toBeLessThanOrEqual(report.rootDistanceMs!);
      expect(report.servers[1]).toMatchObject({
        role: 'falseticker',
        reason: 'falseticker',
        verdict: 'fail',
      });
    });
  });

  it('fails when the majority is off, naming the correct minority as falseticker', async () => {
    await withServers([{ shiftMs: 120_000 }, {}, { shiftMs: 120_001 }], async ([a, b, c]) => {
      const report = await checkSkew({
        servers: [a!.label, b!.label, c!.label],
        maxOffset: 500,
        timeout: 1000,
      });
      expect(report.verdict).toBe('fail');
      expect(report.falsetickers).toEqual([b!.label]);
      expect(Math.abs(report.offsetMs! - 120_000.5)).toBeLessThanOrEqual(report.rootDistanceMs!);
      expect(report.reasons[0]!.message).toMatch(/^time difference too high: offset \+1[12]\d{4}\.\d ms \(±/);
    });
  });

  it('fails on a single unsynchronized server, with the reason', async () => {
    await withServers([{ leap: 3 }], async ([s]) => {
      const report = await checkSkew({ servers: [s!.label], maxOffset: '1s', timeout: '1s' });
      expect(report.verdict).toBe('fail');
      expect(report.reasons[0]!.message).toBe(
        `no usable server: ${s!.label} unsynchronized (leap indicator 3)`,
      );
    });
  });

  it('validates its options at the boundary', async () => {
    await expect(checkSkew({ servers: [], maxOffset: '1s' })).rejects.toMatchObject({
      code: 'NTP_INVALID_ARGUMENT',
      details: { issues: [{ path: 'servers', message: 'must name at least one server' }] },
    });
    await expect(checkSkew({ servers: ['x'], maxOffset: 'lots' })).rejects.toThrow(
      /^checkSkew options: invalid configuration:\n {2}maxOffset: not a duration: "lots"/,
    );
    await expect(checkSkew({ servers: ['x'], maxOffset: 0 })).rejects.toThrow(
      /maxOffset: must be greater than 0/,
    );
    await expect(checkSkew({ servers: ['x'], maxOffset: '1s', warnOffset: '2s' })).rejects.toThrow(
      /warnOffset: must not exceed maxOffset/,
    );
    await expect(checkSkew({ servers: ['x'], maxOffset: '1s', timeout: '2m' })).rejects.toThrow(
      /timeout: must be at most 1m \(got 2m\)/,
    );
  });
});
