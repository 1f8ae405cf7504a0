import { describe, expect, it } from 'vitest';
import { readmeBlocks, runReadmeBlock } from './readme';

// The README's router example runs on the manual clock and prints the transitions its closing comments show.
describe('README router driver example', () => {
  it('prints the transitions listed after it', async () => {
    const block = readmeBlocks('Router driver').find((b) => b.lang === 'ts');
    expect(block).toBeDefined();
    const body = block?.body as string;
    const expected = [...body.matchAll(/^\/\/ (b: .*)$/gm)].map((m) => m[1]);
    expect(expected).toHaveLength(2);
    expect(await runReadmeBlock(body)).toEqual(expected);
  });
});
