// For the tests of the commands that talk to a running node: a real management server on 127.0.0.1:0 with
// the fake control (test/fake-control.ts), a configuration file that points at it (the example with its
// management section changed) and its token file; `proxyha ...` run in-process with a memory io.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliRun, runCliInMemory } from '@proxyha/common/cli';
import { stringify } from 'yaml';
import { main } from '../src/cli/main';
import { type ManagementServer, startManagementServer } from '../src/management/server';
import { type FakeControl, fakeControl } from './fake-control';
import { example, set } from './helpers';

/** The admin token of the test nodes. */
export const TOKEN = 'cli-test-token-0123456789abcdef';

/** A test node: its server, fake control, configuration and token files. */
export interface TestNode {
  /** The management server. */
  readonly server: ManagementServer;
  /** What the server talks to. */
  readonly control: FakeControl;
  /** The configuration file pointing at the server. */
  readonly configFile: string;
  /** The token file it names. */
  readonly tokenFile: string;
  /** A scratch directory, removed by {@link stopAll}. */
  readonly dir: string;
  /** `proxyha ARGV... --config FILE`. */
  run(...argv: string[]): Promise<CliRun>;
}

const nodes: { server: ManagementServer; dir: string }[] = [];

/** `proxyha ARGV` in-process. */
export const proxyha = (...argv: string[]): Promise<CliRun> => runCliInMemory('proxyha', main, argv);

/** A fresh scratch directory (removed by {@link stopAll}). */
export function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'proxyha-gw-cli-'));
  nodes.push({ server: { url: '', close: async () => {} }, dir });
  return dir;
}

/**
 * Starts a management server for `control` on 127.0.0.1:0 and writes a configuration for it.
 *
 * @param options - the control (default a fresh {@link fakeControl}), TLS PEMs (files `tls.crt`/`tls.key`
 *   are written and configured), the token the file holds (default {@link TOKEN})
 */
export async function startNode(
  options: {
    readonly control?: FakeControl;
    readonly tls?: { readonly cert: string; readonly key: string };
    readonly fileToken?: string;
  } = {},
): Promise<TestNode> {
  const control = options.control ?? fakeControl();
  const dir = mkdtempSync(join(tmpdir(), 'proxyha-gw-cli-'));
  const server = await startManagementServer({
    control,
    listen: { host: '127.0.0.1', port: 0 },
    token: TOKEN,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  nodes.push({ server, dir });
  const port = Number(new URL(server.url).port);
  const tokenFile = join(dir, 'admin.token');
  writeFileSync(tokenFile, `${options.fileToken ?? TOKEN}\n`, { mode: 0o600 });
  const doc = example();
  set(doc, 'node.dataDir', join(dir, 'data'));
  set(doc, 'management', { listen: `127.0.0.1:${port}`, tokenFile });
  if (options.tls) {
    writeFileSync(join(dir, 'tls.crt'), options.tls.cert);
    writeFileSync(join(dir, 'tls.key'), options.tls.key, { mode: 0o600 });
    set(doc, 'management.tls', { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') });
  }
  const configFile = join(dir, 'proxyha.yaml');
  writeFileSync(configFile, stringify(doc));
  return {
    server,
    control,
    configFile,
    tokenFile,
    dir,
    run: (...argv: string[]) => proxyha(...argv, '--config', configFile),
  };
}

/** Closes every server and removes every directory (afterEach / afterAll). */
export async function stopAll(): Promise<void> {
  for (const n of nodes.splice(0)) {
    await n.server.close();
    rmSync(n.dir, { recursive: true, force: true });
  }
}
