import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIN_POLL_INTERVAL_MS,
  initialPollState,
  MAX_POLL_INTERVAL_MS,
  onKiss,
  onPollSent,
  pollDecision,
} from '../src/machine/poll';

describe('per-server poll state', () => {
  it('allows the first request and then none until the minimum interval has passed', () => {
    let s = initialPollState(DEFAULT_MIN_POLL_INTERVAL_MS);
    expect(pollDecision(s, 0, 'x').send).toBe(true);
    s = onPollSent(s, 1000);
    const d = pollDecision(s, 16_999, 'x');
    expect(d.send).toBe(false);
    expect(!d.send && d.error.code).toBe('NTP_POLL_TOO_SOON');
    expect(!d.send && d.error.message).toMatch(
      /not polling x for another 1 s \(minimum poll interval 16 s\)/,
    );
    expect(pollDecision(s, 17_000, 'x').send).toBe(true);
  });

  it('doubles the interval on each RATE kiss, up to MAXPOLL', () => {
    let s = onPollSent(initialPollState(16_000), 0);
    s = onKiss(s, 'RATE', 10);
    expect(s.intervalMs).toBe(32_000);
    expect(pollDecision(s, 32_009, 'x').send).toBe(false);
    const d = pollDecision(s, 20_000, 'x');
    expect(!d.send && d.error.message).toMatch(/backing off after Kiss-o'-Death RATE \(interval 32 s\)/);
    expect(pollDecision(s, 32_010, 'x').send).toBe(true);
    s = onKiss(onPollSent(s, 32_010), 'RATE', 32_020);
    expect(s.intervalMs).toBe(64_000);
    for (let i = 0; i < 30; i++) s = onKiss(s, 'RATE', 0);
    expect(s.intervalMs).toBe(MAX_POLL_INTERVAL_MS);
  });

  it('stops for good after DENY or RSTR', () => {
    for (const code of ['DENY', 'RSTR']) {
      const s = onKiss(onPollSent(initialPollState(16_000), 0), code, 5);
      for (const at of [10, 1e6, 1e12]) {
        const d = pollDecision(s, at, 'x');
        expect(!d.send && d.error.code).toBe('NTP_SERVER_STOPPED');
        expect(!d.send && d.error.message).toBe(`Kiss-o'-Death ${code}: not asking x again`);
      }
    }
  });

  it('ignores other kiss codes', () => {
    const s = onPollSent(initialPollState(16_000), 0);
    expect(onKiss(s, 'INIT', 5)).toEqual(s);
  });
});
