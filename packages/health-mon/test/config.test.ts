import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  HEALTH_ERRORS,
  type HealthIssueDetails,
  HealthMonError,
  loadMonitorConfig,
  parseMonitorConfig,
  resolveSettings,
} from '../src/index';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'health-mon-config-'));
  dirs.push(dir);
  await writeFile(join(dir, name), text);
  return join(dir, name);
}

describe('settings', () => {
  it('fills in the documented defaults', () => {
    expect(resolveSettings({ ports: [9090] })).toEqual({
      ...DEFAULT_SETTINGS,
      ports: [{ port: 9090, probe: 'tcp', http: undefined }],
    });
    expect(DEFAULT_SETTINGS).toMatchObject({ intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 });
  });

  it('HTTP options imply the http probe; HTTP options on a tcp probe are an error', () => {
    expect(resolveSettings({ ports: [{ port: 1, http: { method: 'HEAD' } }] }).ports[0]).toEqual({
      port: 1,
      probe: 'http',
      http: { method: 'HEAD' },
    });
    expect(() => resolveSettings({ ports: [{ port: 1, probe: 'tcp', http: {} }] })).toThrow(
      /ports\[0\]\.http: HTTP options given for a tcp probe/,
    );
  });

  it('collects every problem with a stable code, in details.issues', () => {
    try {
      resolveSettings({ ports: [0, 2], jitter: 0.9, concurrency: 0, intervalMs: 0 }, 'my options');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(HealthMonError);
      const e = err as HealthMonError<HealthIssueDetails>;
      expect(e.code).toBe('HEALTH_CONFIG_INVALID');
      expect(e.message).toBe(
        [
          'my options: invalid configuration:',
          ...e.details.issues.map((i) => `  ${i.path}: ${i.message}`),
        ].join('\n'),
      );
      expect(e.details.issues).toEqual([
        { path: 'ports[0].port', message: 'must be >= 1 (got 0)' },
        { path: 'concurrency', message: 'must be >= 1 (got 0)' },
        { path: 'jitter', message: 'must be <= 0.5 (got 0.9)' },
        { path: 'intervalMs', message: 'must be at least 1ms (got 0s)' },
      ]);
    }
  });

  it('catalogues its codes; a file that cannot be read is COMMON_CONFIG_READ', () => {
    expect(Object.keys(HEALTH_ERRORS).sort()).toEqual([
      'HEALTH_CONFIG_INVALID',
      'HEALTH_INVALID_ARGUMENT',
      'HEALTH_UNKNOWN_PORT',
    ]);
  });

  it('reads durations as milliseconds or as text, more than zero and at most an hour', () => {
    const interval = (value: unknown) => parseMonitorConfig({ ports: [1], interval: value }).intervalMs;
    expect([interval(1500), interval('2s'), interval('250ms'), interval('1m'), interval('1m30s')]).toEqual([
      1500, 2000, 250, 60_000, 90_000,
    ]);
    expect(resolveSettings({ ports: [1], timeoutMs: 750 }).timeoutMs).toBe(750);
    const problem = (value: unknown) => {
      try {
        parseMonitorConfig({ ports: [1], interval: value });
      } catch (err) {
        return (err as HealthMonError<HealthIssueDetails>).details.issues.map((i) => i.message);
      }
      return [];
    };
    expect(problem('soon')).toEqual(['not a duration: "soon" (use e.g. 500ms, 2s, 1m30s)']);
    expect(problem('')).toEqual(['not a duration: "" (use e.g. 500ms, 2s, 1m30s)']);
    expect(problem('-1s')).toEqual(['not a duration: "-1s" (use e.g. 500ms, 2s, 1m30s)']);
    expect(problem(0)).toEqual(['must be at least 1ms (got 0s)']);
    expect(problem('0s')).toEqual(['must be at least 1ms (got 0s)']);
    expect(problem('2h')).toEqual(['must be at most 1h (got 2h)']);
    expect(problem(null)).toHaveLength(1);
  });
});

describe('config files', () => {
  it('accepts YAML with durations and mixed port entries', () => {
    expect(
      parseMonitorConfig({
        host: '192.168.77.11',
        interval: '5s',
        timeout: 750,
        ports: [
          2121,
          { port: 9090, probe: 'http', http: { url: 'http://127.0.0.1:8080/', expectStatus: [200, 204] } },
        ],
        initial: 'counted',
      }),
    ).toMatchObject({
      host: '192.168.77.11',
      intervalMs: 5000,
      timeoutMs: 750,
      initial: 'counted',
      ports: [
        { port: 2121, probe: 'tcp' },
        { port: 9090, probe: 'http', http: { url: 'http://127.0.0.1:8080/', expectStatus: [200, 204] } },
      ],
    });
  });

  it('rejects unknown keys (typos) by path', () => {
    expect(() => parseMonitorConfig({ ports: [1], fal: 3 }, 'mon.yaml')).toThrow(
      /mon\.yaml[\s\S]*Unrecognized key: "fal"/,
    );
  });

  it('loads JSON and YAML files; CLI overrides replace top-level keys', async () => {
    const json = await file('mon.json', JSON.stringify({ ports: [1, 2], rise: 4 }));
    expect(await loadMonitorConfig(json)).toMatchObject({ rise: 4, ports: [{ port: 1 }, { port: 2 }] });
    const yaml = await file('mon.yaml', 'ports:\n  - 1\nfall: 5\n');
    expect(await loadMonitorConfig(yaml, { fall: 2, host: '::1' })).toMatchObject({ fall: 2, host: '::1' });
  });

  it('reports unreadable, unparsable and non-mapping files with their name', async () => {
    await expect(loadMonitorConfig('/nonexistent/x.yaml')).rejects.toMatchObject({
      code: 'COMMON_CONFIG_READ',
      message: '/nonexistent/x.yaml: cannot read: ENOENT',
    });
    const broken = await file('broken.yaml', 'ports: [1\n');
    await expect(loadMonitorConfig(broken)).rejects.toMatchObject({ code: 'COMMON_CONFIG_READ' });
    const list = await file('list.yaml', '- 1\n- 2\n');
    await expect(loadMonitorConfig(list)).rejects.toMatchObject({
      code: 'HEALTH_CONFIG_INVALID',
      message: `${list}: invalid configuration:\n  (root): must be a mapping with at least a \`ports\` key`,
      details: { issues: [{ path: '(root)', message: 'must be a mapping with at least a `ports` key' }] },
    });
    expect(() => parseMonitorConfig([1, 2], 'inline')).toThrow(
      'inline: invalid configuration:\n  (root): must be a mapping with at least a `ports` key',
    );
  });
});
