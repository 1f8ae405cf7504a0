// Shared by the gateway's tests: the example file, a mutable copy of it, and error capture.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigIssue } from '@proxyha/common';
import { parse } from 'yaml';
import { GatewayError } from '../src/errors';
import { parseGatewayConfig } from '../src/index';

/** The app's directory. */
export const appDir = join(import.meta.dirname, '..');
/** examples/proxyha.yaml: the issue's example, complete. */
export const exampleFile = join(appDir, 'examples', 'proxyha.yaml');

/** A parsed YAML document that tests change at any path. */
// biome-ignore lint/suspicious/noExplicitAny: documents are changed and read at any path, valid or not
export type Doc = Record<string, any>;

/** A fresh parsed copy of the example, to change in a test. */
export function example(): Doc {
  return parse(readFileSync(exampleFile, 'utf8'));
}

/** Sets `value` at a dotted path (`ha.redirects.0.originalPort`); `undefined` deletes the key. */
export function set(doc: Doc, path: string, value: unknown): Doc {
  const keys = path.split('.');
  let at: Doc = doc;
  for (const k of keys.slice(0, -1)) {
    if (at[k] === undefined || at[k] === null || typeof at[k] !== 'object') at[k] = {};
    at = at[k];
  }
  const last = keys[keys.length - 1] as string;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return doc;
}

/** The issues `parseGatewayConfig` reports for `data` (fails the test when it accepts it or throws another error). */
export function issuesOf(data: unknown, source = 'gw.yaml'): ConfigIssue[] {
  try {
    parseGatewayConfig(data, source);
  } catch (error) {
    if (!(error instanceof GatewayError) || error.code !== 'GATEWAY_CONFIG_INVALID') throw error;
    return (error.details as { issues: ConfigIssue[] }).issues;
  }
  throw new Error('the configuration was accepted');
}

/** The sections of the gateway's file: every issue path starts with one of them, or is `(root)`. */
export const SECTION_PATH = /^(\(root\)|(node|ha|health|ntp|cm|policy|management)([.[]|$))/;
