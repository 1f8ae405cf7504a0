import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  describeCliError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  readConfigFile,
  usageError,
} from '../src/cli/index';
import { CommonError, ProxyhaError } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'proxyha-common-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLI harness', () => {
  it('maps errors to exit codes: usage and configuration 2, commander as it says, the rest 1', () => {
    let usage: unknown;
    try {
      usageError('--port: not a port number');
    } catch (e) {
      usage = e;
    }
    expect(describeCliError('proxyha-x', usage)).toEqual({
      exitCode: EXIT_USAGE,
      line: 'proxyha-x: --port: not a port number',
    });
    const config = new ProxyhaError('VRRPD_CONFIG_INVALID', 'a.yaml: invalid configuration:');
    expect(describeCliError('p', config).exitCode).toBe(EXIT_USAGE);
    expect(describeCliError('p', new CommonError('COMMON_CONFIG_READ', 'x')).exitCode).toBe(EXIT_USAGE);
    expect(describeCliError('p', { code: 'commander.helpDisplayed', exitCode: 0 })).toEqual({
      exitCode: EXIT_OK,
    });
    expect(describeCliError('p', { code: 'commander.unknownOption', exitCode: 1 })).toEqual({
      exitCode: EXIT_USAGE,
    });
    expect(describeCliError('p', new Error('boom'))).toEqual({ exitCode: EXIT_FAILURE, line: 'p: boom' });
  });

  it('reads YAML and JSON configuration files, naming the file and the problem otherwise', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'instances:\n  - name: VI_1\n');
    expect(await readConfigFile(good)).toEqual({ instances: [{ name: 'VI_1' }] });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'instances: [\n');
    await expect(readConfigFile(bad)).rejects.toMatchObject({
      code: 'COMMON_CONFIG_READ',
      message: expect.stringMatching(/bad\.yaml: not valid YAML/),
    });
    await expect(readConfigFile(join(dir, 'none.yaml'))).rejects.toMatchObject({
      code: 'COMMON_CONFIG_READ',
      message: expect.stringMatching(/none\.yaml: cannot read: ENOENT/),
    });
  });

  it('writes text lines operators grep, or JSON lines with the fields', () => {
    const textFile = join(dir, 'text.log');
    const fd = openSync(textFile, 'w');
    const text = createLogger({ fd, level: 'debug' });
    text.info('(VI_1) Entering MASTER STATE');
    text.debug('detail', { vrid: 51 });
    closeSync(fd);
    const lines = readFileSync(textFile, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: \(VI_1\) Entering MASTER STATE$/,
    );
    expect(lines[1]).toMatch(/DEBUG: detail$/);

    const jsonFile = join(dir, 'json.log');
    const fd2 = openSync(jsonFile, 'w');
    const json = createLogger({ fd: fd2, json: true });
    json.debug('hidden below info');
    json.warn('(VI_1) received an invalid passwd!', { source: '192.168.77.12' });
    closeSync(fd2);
    const entries = readFileSync(jsonFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      level: 40,
      msg: '(VI_1) received an invalid passwd!',
      source: '192.168.77.12',
    });
  });
});
