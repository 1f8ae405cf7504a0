// proxyha-cm: create the cluster CA, run a node, and talk to the running node through its control socket.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CliIo, createLogger, EXIT_OK, printJson, usageError } from '@proxyha/common/cli';
import { Command } from 'commander';
import { version } from '../../package.json';
import { loadCmConfig } from '../config/config';
import { CmNode, type CmStatus } from '../driver/cm-node';
import { controlRequest, controlSocketPath } from '../driver/control';
import { policyDocument, readPolicyDirectory } from '../driver/policy-files';
import { formatCmStatus } from '../driver/status-text';
import { createClusterCa } from '../identity/certificates';
import type { PolicyDocument } from '../machine/types';

/** What `main` needs from the process: its signals and stdin (tests pass their own). */
export interface ProcessHooks {
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  /** Standard input, for `policy save` without --file or --dir. */
  readonly stdin?: NodeJS.ReadableStream;
}

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The body of `proxyha-cm`. Exit codes: 0 ok, 1 failure, 2 bad usage or an invalid configuration.
 *
 * @param argv - the arguments after the program name
 * @param io - where output goes
 * @param hooks - signals and stdin (default: the process's)
 */
export async function main(
  argv: readonly string[],
  io: CliIo,
  hooks: ProcessHooks = { once: (s, l) => process.once(s, l), stdin: process.stdin },
): Promise<number> {
  let exit = EXIT_OK;
  const program = new Command()
    .name('proxyha-cm')
    .description('central management: master-less policy replication over mutual TLS')
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const ca = program.command('ca').description('the cluster CA');
  ca.command('create')
    .description('create the cluster CA (ca.crt, ca.key) on one node; copy both to the others')
    .requiredOption('--out <dir>', 'directory for ca.crt and ca.key')
    .option('--algorithm <alg>', 'P-256 or Ed25519', 'P-256')
    .option('--name <name>', 'the CA subject name', 'proxyha cluster CA')
    .action(async (o: { out: string; algorithm: string; name: string }) => {
      if (o.algorithm !== 'P-256' && o.algorithm !== 'Ed25519')
        usageError(`--algorithm must be P-256 or Ed25519 (got ${o.algorithm})`);
      const created = await createClusterCa({ algorithm: o.algorithm, name: o.name });
      await mkdir(o.out, { recursive: true, mode: 0o700 });
      await writeFile(join(o.out, 'ca.crt'), created.certPem, { mode: 0o644, flag: 'wx' });
      await writeFile(join(o.out, 'ca.key'), created.keyPem, { mode: 0o600, flag: 'wx' });
      io.stdout.write(`${join(o.out, 'ca.crt')}\n${join(o.out, 'ca.key')}\n`);
    });

  program
    .command('run')
    .description('run a node until SIGTERM or SIGINT')
    .requiredOption('--config <file>', 'YAML configuration')
    .option('--json', 'JSON log lines')
    .option('-D, --log-detail', 'debug log lines')
    .action(async (o: { config: string; json?: boolean; logDetail?: boolean }) => {
      const config = await loadCmConfig(o.config);
      const logger = createLogger({ json: o.json === true, level: o.logDetail ? 'debug' : 'info' });
      const node = new CmNode(config, { logger, softwareVersion: version });
      const stopped = new Promise<string>((resolve) => {
        hooks.once('SIGTERM', () => resolve('SIGTERM'));
        hooks.once('SIGINT', () => resolve('SIGINT'));
      });
      await node.start();
      const signal = await stopped;
      logger.info(`Stopping (${signal})`);
      await node.stop();
      logger.info('Stopped');
    });

  const request = async (configFile: string, command: string, args: Record<string, unknown> = {}) => {
    const config = await loadCmConfig(configFile);
    return controlRequest(controlSocketPath(config.dataDir), { command, args });
  };

  program
    .command('add-node')
    .description('add the node at HOST[:PORT] to this cluster: its policy is replaced by this node’s')
    .requiredOption('--config <file>', 'YAML configuration of the running node')
    .argument('<address>', 'HOST[:PORT] of the node to add (port 12346 by default)')
    .action(async (address: string, o: { config: string }) => {
      const r = (await request(o.config, 'add-node', { address })) as { uuid: string; name: string };
      io.stdout.write(`added ${r.name} (${r.uuid})\n`);
    });

  const policy = program.command('policy').description('the replicated policy');
  policy
    .command('save')
    .description(
      'save a file, a directory of files, or stdin as the new policy; prints the new storage timestamp',
    )
    .requiredOption('--config <file>', 'YAML configuration of the running node')
    .option('--file <file>', 'one document (its base name)')
    .option('--dir <dir>', 'a directory: every file under it, by relative path')
    .option('--name <name>', 'document name for stdin', 'policy')
    .option('--comment <text>', 'what changed')
    .option('--node', "save this node's own configuration instead of the policy")
    .action(
      async (o: {
        config: string;
        file?: string;
        dir?: string;
        name: string;
        comment?: string;
        node?: boolean;
      }) => {
        if (o.file && o.dir) usageError('give --file or --dir, not both');
        let documents: PolicyDocument[];
        if (o.dir) {
          if (!(await stat(o.dir)).isDirectory()) usageError(`--dir ${o.dir} is not a directory`);
          documents = await readPolicyDirectory(o.dir);
        } else if (o.file)
          documents = [policyDocument(o.file.split('/').pop() as string, await readFile(o.file))];
        else documents = [{ name: o.name, content: await readStdin(hooks.stdin ?? process.stdin) }];
        const r = (await request(o.config, 'save', {
          documents,
          comment: o.comment,
          scope: o.node ? 'node' : 'policy',
        })) as { storageTimestamp: string; version: string };
        io.stdout.write(`${r.storageTimestamp}\n`);
      },
    );
  policy
    .command('show')
    .description("print the current policy's documents (each under its name)")
    .requiredOption('--config <file>', 'YAML configuration of the running node')
    .option('--json', 'one JSON document')
    .action(async (o: { config: string; json?: boolean }) => {
      const r = (await request(o.config, 'show')) as {
        version: string | null;
        storageTimestamp: string | null;
        documents: PolicyDocument[];
      };
      if (o.json) return printJson(io, r);
      io.stdout.write(
        `# version ${r.version ?? '-'}, Current Storage Timestamp ${r.storageTimestamp ?? '-'}\n`,
      );
      for (const d of r.documents)
        io.stdout.write(
          `==> ${d.name} <==\n${d.encoding === 'base64' ? `(binary, ${Buffer.from(d.content, 'base64').length} bytes)\n` : d.content.endsWith('\n') ? d.content : `${d.content}\n`}`,
        );
    });

  program
    .command('status')
    .description('every node: uuid, name, address, version, Current Storage Timestamp, reachable, last error')
    .requiredOption('--config <file>', 'YAML configuration of the running node')
    .option('--json', 'one JSON document')
    .action(async (o: { config: string; json?: boolean }) => {
      const s = (await request(o.config, 'status')) as CmStatus;
      if (o.json) printJson(io, s);
      else io.stdout.write(formatCmStatus(s));
      if (!s.inSync) exit = EXIT_OK;
    });

  const admin = program.command('admin').description('the admin lock (one admin session attached at a time)');
  admin
    .command('attach')
    .description(
      'attach an admin session to the cluster (fails with STATUS_ERROR_GUI_ATTACH when another node holds it)',
    )
    .requiredOption('--config <file>', 'YAML configuration of the running node')
    .option('--session <id>', 'session id', 'cli')
    .action(async (o: { config: string; session: string }) => {
      await request(o.config, 'attach', { session: o.session });
      io.stdout.write('attached\n');
    });
  admin
    .command('detach')
    .requiredOption('--config <file>', 'YAML configuration of the running node')
    .option('--session <id>', 'session id', 'cli')
    .action(async (o: { config: string; session: string }) => {
      await request(o.config, 'detach', { session: o.session });
      io.stdout.write('detached\n');
    });

  await program.parseAsync([...argv], { from: 'user' });
  return exit;
}
