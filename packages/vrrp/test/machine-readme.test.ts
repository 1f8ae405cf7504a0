import { describe, expect, it } from 'vitest';
import { expectedOutput, readmeBlocks, runReadmeBlock } from './readme';

// The README's state machine and simulator examples print exactly what the README shows.
describe('README state machine section', () => {
  const blocks = readmeBlocks('State machine');

  it('the embedding example prints exactly the output shown after it', async () => {
    const [code, output] = blocks;
    expect(code?.lang).toBe('js');
    expect(output?.lang).toBe('text');
    const printed = await runReadmeBlock(code?.body as string);
    expect(printed.join('\n').split('\n')).toEqual((output?.body as string).trimEnd().split('\n'));
  });

  it('the simulator example prints what its comments say', async () => {
    const sim = blocks.find((b) => b.lang === 'js' && b.body.includes('SimNetwork'));
    expect(sim).toBeDefined();
    const expected = expectedOutput(sim?.body as string);
    expect(expected).toHaveLength(2);
    expect(await runReadmeBlock(sim?.body as string)).toEqual(expected);
  });
});
