import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HysteresisStatus, initialHysteresis, stepHysteresis } from '../src/index';

describe('rise/fall hysteresis', () => {
  it('changes status only after rise successes or fall failures in a row (model check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<'first-result' | 'counted'>('first-result', 'counted'),
        fc.array(fc.boolean(), { maxLength: 60 }),
        (rise, fall, initial, results) => {
          let state = initialHysteresis();
          let status: HysteresisStatus = 'unknown';
          let run = 0;
          let last: boolean | undefined;
          for (const r of results) {
            run = r === last ? run + 1 : 1;
            last = r;
            if (status === 'unknown' && initial === 'first-result') status = r ? 'up' : 'down';
            else if (r && run >= rise) status = 'up';
            else if (!r && run >= fall) status = 'down';
            state = stepHysteresis(state, r, { rise, fall, initial });
            expect(state.status).toBe(status);
          }
        },
      ),
    );
  });

  it('starts from a given status (a tracker assumed up)', () => {
    let s = initialHysteresis('up');
    s = stepHysteresis(s, false, { rise: 2, fall: 2 });
    expect(s.status).toBe('up');
    s = stepHysteresis(s, false, { rise: 2, fall: 2 });
    expect(s).toEqual({ status: 'down', successes: 0, failures: 2 });
  });
});
