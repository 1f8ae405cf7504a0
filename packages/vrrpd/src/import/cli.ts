// `proxyha-vrrpd --import-keepalived FILE [--config-id ID]`: the YAML on stdout, the report on stderr.
import { hostname } from 'node:os';
import { formatIssues } from '@proxyha/common';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@proxyha/common/cli';
import { VrrpdError } from '../errors';
import { formatKeepalivedImportReport, importKeepalivedFile } from './import';

/**
 * Imports a keepalived.conf: the proxyha-vrrpd YAML on stdout, one `# FILE:LINE: SETTING — REASON` line
 * per setting without an equivalent on stderr. Exit 0 when a configuration was produced, 1 when nothing
 * could be imported or the result does not validate (the issues on stderr), 2 for a syntax error (its
 * file, line and problem on stderr) or an unreadable file.
 *
 * @param file - the keepalived.conf
 * @param configId - keepalived's `-i`; default the host name's first part, as keepalived's default
 * @param io - where to write
 */
export function importKeepalivedCommand(file: string, configId: string | undefined, io: CliIo): number {
  const id = configId ?? hostname().split('.')[0];
  let result: ReturnType<typeof importKeepalivedFile>;
  try {
    result = importKeepalivedFile(file, { configId: id });
  } catch (e) {
    if (e instanceof VrrpdError && e.code === 'VRRPD_KEEPALIVED_SYNTAX') {
      io.stderr.write(`proxyha-vrrpd: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  const instances = result.document.instances as readonly unknown[];
  if (instances.length > 0) io.stdout.write(result.yaml);
  io.stderr.write(formatKeepalivedImportReport(result.unmapped));
  if (instances.length === 0) {
    io.stderr.write(`proxyha-vrrpd: ${file}: no vrrp_instance could be imported\n`);
    return EXIT_FAILURE;
  }
  if (result.issues.length > 0) {
    io.stderr.write(
      `proxyha-vrrpd: ${formatIssues(`the configuration imported from ${file}`, result.issues)}\n`,
    );
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
