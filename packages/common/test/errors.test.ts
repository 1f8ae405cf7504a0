import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  COMMON_ERRORS,
  CommonError,
  defineErrors,
  describeValue,
  err,
  formatIssues,
  formatPath,
  issuesFromSchema,
  ok,
  ProxyhaError,
  resultOrIssue,
} from '../src/index';

describe('error base and catalogues', () => {
  it('carries a stable code, details, cause and its class name; JSON has all of them', () => {
    const cause = new Error('EPERM');
    const e = new CommonError('COMMON_COMMAND_FAILED', 'ip link add: exit 2', {
      details: { code: 2 },
      cause,
    });
    expect(e).toBeInstanceOf(ProxyhaError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CommonError');
    expect(e.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      name: 'CommonError',
      code: 'COMMON_COMMAND_FAILED',
      message: 'ip link add: exit 2',
      details: { code: 2 },
    });
    expect(new CommonError('COMMON_USAGE', 'x').details).toEqual({});
  });

  it('can skip the stack trace (cheap errors for bad input)', () => {
    expect(new CommonError('COMMON_USAGE', 'x', { stack: false }).stack).not.toMatch(/\n\s+at /);
    expect(new CommonError('COMMON_USAGE', 'x').stack).toMatch(/\n\s+at /);
  });

  it('refuses a catalogue entry that breaks the <PACKAGE>_<CONDITION> convention', () => {
    expect(() => defineErrors('NETIO', { NETIO_CLOSED: 'closed' })).not.toThrow();
    expect(() => defineErrors('NETIO', { NETIO_closed: 'x' } as never)).toThrow(/NETIO_<CONDITION>/);
    expect(() => defineErrors('NETIO', { NETIO_: 'x' } as never)).toThrow(/NETIO_<CONDITION>/);
    expect(() => defineErrors('NETIO', { NETIO_CLOSED: ' ' })).toThrow(/no meaning/);
    for (const code of Object.keys(COMMON_ERRORS)) expect(code).toMatch(/^COMMON_[A-Z_]+$/);
  });

  it('has one Result shape', () => {
    expect(ok(5)).toEqual({ ok: true, value: 5 });
    expect(err('no')).toEqual({ ok: false, error: 'no' });
  });
});

describe('configuration issues', () => {
  it('formats paths with dots and brackets, the root as (root)', () => {
    expect(formatPath(['instances', 0, 'vrid'])).toBe('instances[0].vrid');
    expect(formatPath([0])).toBe('[0]');
    expect(formatPath([])).toBe('(root)');
  });

  it('turns zod issues into path: message (got value), once', () => {
    const schema = z.strictObject({
      vrid: z.number().int().max(255),
      name: z.string(),
      ports: z.array(z.number()),
      interval: z
        .string()
        .transform((v, ctx) => resultOrIssue(err(`not a duration: ${describeValue(v)}`), ctx)),
    });
    const input = { vrid: 300, name: 5, ports: [1, 'x'], extra: true, interval: 'soon' };
    const r = schema.safeParse(input, { reportInput: true });
    expect(r.success).toBe(false);
    const issues = issuesFromSchema(r.error?.issues ?? [], input);
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^vrid: .*255 \(got 300\)$/),
        expect.stringMatching(/^name: .* \(got 5\)$/),
        expect.stringMatching(/^ports\[1\]: .* \(got "x"\)$/),
        expect.stringMatching(/^\(root\): Unrecognized key: "extra"$/),
        'interval: not a duration: "soon"',
      ]),
    );
    expect(formatIssues('vrrpd.yaml', issues.slice(0, 1))).toBe(
      `vrrpd.yaml: invalid configuration:\n  ${issues[0]?.path}: ${issues[0]?.message}`,
    );
  });
});

describe('values shown once', () => {
  it('does not repeat a value our own parsers already name', () => {
    const schema = z.strictObject({
      interval: z
        .union([z.string(), z.number()])
        .transform((v, ctx) => resultOrIssue(err(`not a duration: ${describeValue(v)}`), ctx)),
    });
    for (const interval of [-1, 'soon']) {
      const r = schema.safeParse({ interval }, { reportInput: true });
      const [issue] = issuesFromSchema(r.error?.issues ?? [], { interval });
      expect(issue?.message).toBe(`not a duration: ${describeValue(interval)}`);
    }
  });
});

describe('describeValue', () => {
  it('shows what the value is, on one short line', () => {
    expect(describeValue('soon')).toBe('"soon"');
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(describeValue(5n)).toBe('5n');
    expect(describeValue(new Uint8Array(3))).toBe('Uint8Array(3)');
    expect(describeValue({ a: 'x'.repeat(100) })).toMatch(/^\{"a":"x+\.\.\.$/);
    expect(describeValue(undefined)).toBe('undefined');
  });
});
