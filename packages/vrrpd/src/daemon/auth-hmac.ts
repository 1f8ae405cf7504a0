// Wiring of an instance's `authHmac` block: the VrrpHmac its router signs and checks with, applied again
// in place by a reload (a key rotation or a mode change keeps the state machine, the send sequence and
// the replay marks: no flap).
import { statSync } from 'node:fs';
import type { Logger } from '@proxyha/common';
import { VrrpHmac, type VrrpHmacOptions, type VrrpHmacSettings, type VrrpRouter } from '@proxyha/vrrp';
import { type AuthHmacConfig, authHmacWindowSec } from '../config/auth-hmac';
import type { VrrpInstanceConfig } from '../config/config';

/** The `@proxyha/vrrp` settings of an instance's authHmac block. */
function optionsOf(inst: VrrpInstanceConfig, a: AuthHmacConfig): VrrpHmacOptions {
  return {
    keys: a.keys.map((k) => ({ id: k.id, key: k.key })),
    activeKey: a.activeKey,
    mode: a.mode,
    antiReplay: a.antiReplay,
    timeWindowSec: authHmacWindowSec(inst),
  };
}

/** One line describing the settings, without key material. */
function describe(s: VrrpHmacSettings): string {
  const window = s.antiReplay === 'time' ? `, window ${s.timeWindowSec} s` : '';
  return `mode ${s.mode}, active key ${s.activeKey}, keys ${s.keyIds.join(',')}, anti-replay ${s.antiReplay}${window}`;
}

/** The instance's authentication state for its router, or undefined without an authHmac block. */
export function instanceHmac(inst: VrrpInstanceConfig, log: Logger): VrrpHmac | undefined {
  const a = inst.authHmac;
  if (!a) return undefined;
  warnKeyFiles(inst, log);
  const hmac = new VrrpHmac(optionsOf(inst, a));
  log.info(`(${inst.name}) authHmac ${describe(hmac.settings)}`);
  return hmac;
}

/**
 * A reload changed the instance in place: the router's VrrpHmac is updated (its send sequence and replay
 * marks stay), created, or dropped. Logs the new settings when they differ.
 */
export function applyAuthHmac(router: VrrpRouter, inst: VrrpInstanceConfig, log: Logger): void {
  const a = inst.authHmac;
  const current = router.hmac;
  if (!a) {
    if (current)
      log.warn(`(${inst.name}) authHmac off: adverts are sent and accepted without authentication`);
    router.setHmac(undefined);
    return;
  }
  const before = current ? describe(current.settings) : 'off';
  const hmac = current ?? new VrrpHmac(optionsOf(inst, a));
  if (current) current.update(optionsOf(inst, a));
  else router.setHmac(hmac);
  const after = describe(hmac.settings);
  if (after !== before) {
    warnKeyFiles(inst, log);
    log.info(`(${inst.name}) authHmac ${after}`);
  }
}

/** keepalived warns about a key file that group or others may read: so do we. */
function warnKeyFiles(inst: VrrpInstanceConfig, log: Logger): void {
  for (const k of inst.authHmac?.keys ?? []) {
    if (!k.keyFile) continue;
    try {
      if ((statSync(k.keyFile).mode & 0o077) !== 0)
        log.warn(`(${inst.name}) authHmac key file ${k.keyFile} is readable by group or others (chmod 600)`);
    } catch {
      /* it was read while the configuration was validated; gone since: nothing to warn about */
    }
  }
}
