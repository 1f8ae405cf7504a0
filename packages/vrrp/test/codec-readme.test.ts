import { describe, expect, it } from 'vitest';
import { expectedOutput, readmeBlocks, runReadmeBlock } from './readme';

// The README's codec example prints what the comment after each console.log says.
describe('README codec example', () => {
  it('runs and prints what its comments say', async () => {
    const block = readmeBlocks('Codec').find((b) => b.lang === 'js');
    expect(block).toBeDefined();
    const expected = expectedOutput(block!.body);
    expect(expected.length).toBe(5);
    expect(await runReadmeBlock(block!.body)).toEqual(expected);
  });
});
