// The status page (src/management/page.ts): first what can be checked without a browser (one
// self-contained document, its CSP hashes, no markup built from data), then the page in real headless
// Chromium (Debian's `chromium`, driven by playwright-core) against the real management server over a
// fake node: it renders, follows a failover and a drained node live, falls back to polling when the
// stream is down, asks again for a refused token, toggles maintenance and exports, never interprets
// network text as markup, and logs no console or page error. It also makes the README screenshot
// (written to docs/images/ when UPDATE_SCREENSHOTS=1).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import type { LbStatusNode } from '@proxyha/lb-director';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusPageCsp, statusPageHtml } from '../src/management/page';
import { type ManagementServer, startManagementServer } from '../src/management/server';
import type { GatewayStatus, GatewayTransition } from '../src/node/types';
import { type FakeControl, fakeControl, SAMPLE_IDS, SAMPLE_UUIDS, sampleStatus } from './fake-control';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'page-test-token-3f9c2a';
const SCREENSHOT = join(import.meta.dirname, '../../../docs/images/gateway-status-page.png');
/** Generous bound of every wait for the page (a failure message, never a measured duration). */
const WAIT = { timeout: 20_000 } as const;

/** The inline `<script>` and `<style>` texts of the page. */
function inlineParts(html: string): { scripts: string[]; styles: string[] } {
  const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1] ?? '');
  const styles = [...html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1] ?? '');
  return { scripts, styles };
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('statusPageHtml', () => {
  const html = statusPageHtml();
  const { scripts, styles } = inlineParts(html);

  it('is one self-contained document: one inline script, one inline style, no external asset', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(html).not.toMatch(/<script\b[^>]*\bsrc\s*=/i);
    expect(html).not.toMatch(/<link\b(?![^>]*rel="icon"[^>]*href="data:)[^>]*>/i);
    expect(styles[0]).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9]/i);
    expect(statusPageHtml()).toBe(html);
  });

  it('has a script that parses and never turns text into markup', () => {
    const script = scripts[0] ?? '';
    expect(() => new Script(script)).not.toThrow();
    for (const sink of [
      'innerHTML',
      'outerHTML',
      'insertAdjacentHTML',
      'document.write',
      'eval(',
      'new Function',
    ])
      expect(script).not.toContain(sink);
    // the token goes in a header only, never into a URL
    expect(script).not.toMatch(/[?&]token=/);
  });

  it('allows exactly its own script and style by hash in its Content-Security-Policy', () => {
    const csp = statusPageCsp();
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${csp}">`);
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual([sha256(scripts[0] ?? '')]);
    expect(directives.get('style-src')).toEqual([sha256(styles[0] ?? '')]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
  });
});

/** `describe` for the Chromium tests: skipped without /usr/bin/chromium, failing instead when CI=true. */
function describeBrowser(name: string, fn: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, { timeout: 120_000 }, fn);
    return;
  }
  const reason = `${CHROMIUM} is missing (Debian package chromium; scripts/install-test-peers.sh installs it)`;
  describe(name, () => {
    if (process.env.CI === 'true') {
      it(`cannot run: ${reason}`, () => {
        throw new Error(`CI=true and this browser test cannot run: ${reason}`);
      });
    } else {
      it.skip(`skipped: ${reason}`, () => {});
    }
  });
}

/** The sample with every node healthy (the sample's mwg3 starts drained). */
function healthyStatus(): GatewayStatus {
  const s = sampleStatus();
  return {
    ...s,
    director: {
      ...s.director,
      nodes: s.director.nodes.map((n) => ({
        ...n,
        health: 'ok' as const,
        failingPorts: [],
        effectiveWeight: 100,
        share: 1 / 3,
        activeConnections: 30,
      })),
    },
  };
}

/** A believable three-node cluster seen from its director, times relative to `now` (the screenshot). */
function realisticStatus(now: number): GatewayStatus {
  const s = sampleStatus();
  const min = 60_000;
  const hour = 60 * min;
  const stamp = (at: number, uuid: string) => `${new Date(at).toISOString()}.00000.${uuid}`;
  const mwg3uuid = '33333333-3333-4333-8333-333333333333';
  const lastSave = now - 42 * min;
  const ts = stamp(lastSave, SAMPLE_UUIDS.mwg2);
  const node = (
    name: keyof typeof SAMPLE_IDS,
    address: string,
    extra: Partial<LbStatusNode>,
  ): LbStatusNode => ({
    id: SAMPLE_IDS[name],
    name,
    address,
    version: '1.0.0',
    health: 'ok',
    failingPorts: [],
    weight: 100,
    effectiveWeight: 100,
    share: 0.5,
    activeConnections: 0,
    resources: { cpu: 0.2, memory: 0.4, load: 0.3 },
    lastReportAgeMs: 400,
    self: false,
    ...extra,
  });
  const transitions: GatewayTransition[] = [
    { at: now - 26 * hour, from: 'initialize', to: 'backup', reason: 'startup', priority: 99 },
    { at: now - 26 * hour + 3_100, from: 'backup', to: 'master', reason: 'masterDown', priority: 99 },
    { at: now - 3 * hour, from: 'master', to: 'backup', reason: 'higherPriority', priority: 99 },
    { at: now - 3 * hour + 95_000, from: 'backup', to: 'master', reason: 'masterDown', priority: 99 },
  ];
  return {
    ...s,
    node: { ...s.node, version: '1.0.0', startedAt: now - 26 * hour, now },
    vrrp: {
      ...s.vrrp,
      transitions,
      advertsSent: 93_211,
      advertsReceived: 95,
      dropped: { VRRP_BAD_TTL: 2 },
      becameMaster: 2,
    },
    director: {
      ...s.director,
      nodes: [
        node('mwg1', '10.10.74.70', {
          self: true,
          share: 0.51,
          effectiveWeight: 97,
          activeConnections: 214,
          resources: { cpu: 0.31, memory: 0.46, load: 0.4 },
          lastReportAgeMs: 210,
        }),
        node('mwg2', '10.10.74.86', {
          share: 0.49,
          effectiveWeight: 93,
          activeConnections: 203,
          resources: { cpu: 0.34, memory: 0.41, load: 0.45 },
          lastReportAgeMs: 640,
        }),
        node('mwg3', '10.10.74.87', {
          health: 'failure',
          failingPorts: [9090],
          effectiveWeight: 0,
          share: 0,
          activeConnections: 7,
          resources: { cpu: 0.05, memory: 0.33, load: 0.02 },
          lastReportAgeMs: 820,
        }),
      ],
      connections: { accepted: 1_284_220, failed: 12 },
    },
    health: {
      ...s.health,
      since: now - 3 * hour + 40_000,
      ports: [{ port: 9090, status: 'ok', since: now - 3 * hour + 40_000, reason: null }],
    },
    ntp: { ...s.ntp, offsetMs: 3.2, checkedAt: now - 41_000 },
    cm: s.cm && {
      ...s.cm,
      nodes: [
        ...s.cm.nodes.map((n) => ({ ...n, version: '1.0.0', storageTimestamp: ts })),
        {
          uuid: mwg3uuid,
          name: 'mwg3',
          address: '10.10.74.87:12346',
          version: '1.0.0',
          storageTimestamp: ts,
          reachable: true,
          lastError: null,
        },
      ],
      policy: { id: '9c1e4b7a2f6d83e05a1b', origin: 'mwg2', storageTimestamp: ts },
      storageTimestampAgeMs: now - lastSave,
    },
  };
}

/** A console message or page error seen in a page. */
interface PageProblem {
  readonly page: string;
  readonly text: string;
}

describeBrowser('status page in headless Chromium', () => {
  let browser: Browser | undefined;
  let server: ManagementServer | undefined;
  let control: FakeControl;
  const contexts: BrowserContext[] = [];
  /** Console errors and page errors nobody expected, with the page they came from. */
  const problems: PageProblem[] = [];

  beforeAll(async () => {
    control = fakeControl({ status: healthyStatus() });
    server = await startManagementServer({ control, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.close();
    }
  }, 120_000);

  /**
   * A new page in its own context (its own sessionStorage) that records every console error and page
   * error; `expected` lists the console errors this page may show (e.g. the browser's own line about a
   * 401 answer when the test gives a wrong token on purpose).
   */
  async function openPage(name: string, expected: readonly RegExp[] = []): Promise<Page> {
    if (!browser) throw new Error('no browser');
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() !== 'error' && m.type() !== 'warning') return;
      if (m.type() === 'error' && expected.some((re) => re.test(m.text()))) return;
      problems.push({ page: name, text: `console.${m.type()}: ${m.text()}` });
    });
    page.on('pageerror', (e) => problems.push({ page: name, text: `page error: ${e.message}` }));
    return page;
  }
  const url = (fragment = '') => `${server?.url}/${fragment}`;
  const text = (page: Page, selector: string) => page.locator(selector).textContent();

  let main: Page;

  it('renders this node, its role and the node table', async () => {
    main = await openPage('main');
    await main.goto(url(`#token=${TOKEN}`));
    await main.locator('#nodes tbody tr').nth(2).waitFor(WAIT);
    await main.locator('#conn.s-live').waitFor(WAIT);
    expect(await text(main, '#node-name')).toBe('mwg1');
    expect(await text(main, '#role')).toBe('director');
    expect(await text(main, '#vrrp-state')).toBe('master');
    expect(await main.locator('#vrrp-state').getAttribute('class')).toContain('s-master');
    expect(
      await main.locator('#nodes tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.node)),
    ).toEqual(['mwg1', 'mwg2', 'mwg3']);
    expect(await main.locator('#nodes tr[data-node="mwg1"]').getAttribute('class')).toContain('self');
    expect(await main.locator('#nodes tbody tr[data-health="failure"]').count()).toBe(0);
    expect(await text(main, '#vip-owner')).toBe('VIP 10.10.74.74/24 held by 10.10.74.70 (this node)');
    expect(await main.locator('#maintenance-badge').isHidden()).toBe(true);
    expect(await main.locator('#login').isHidden()).toBe(true);
    expect(await text(main, '#cm h2')).toContain('in sync');
    // the token left the address bar and stays in this tab only
    expect(main.url()).toBe(url());
    expect(await main.evaluate("sessionStorage.getItem('proxyha.token')")).toBe(TOKEN);
    expect(problems).toEqual([]);
  });

  it('shows a failover live: backup, another director, the transition on top', async () => {
    const s = control.current;
    const mwg2 = { id: SAMPLE_IDS.mwg2, name: 'mwg2', address: '10.10.74.86' };
    const self = s.director.nodes[0] as LbStatusNode;
    control.setStatus({
      node: { role: 'scanner', now: s.node.now + 5_000 },
      vrrp: {
        state: 'backup',
        vipOwner: '10.10.74.86',
        transitions: [
          ...s.vrrp.transitions,
          { at: s.node.now + 4_000, from: 'master', to: 'backup', reason: 'higherPriority', priority: 99 },
        ],
      },
      director: {
        role: 'scanner',
        director: mwg2,
        directors: [{ ...mwg2, priority: 120 }],
        nodes: [{ ...self, effectiveWeight: undefined, share: 0 }],
        table: undefined,
        heldTable: { nodes: 3, size: 65537 },
      },
    });
    await main.locator('#role', { hasText: /^scanner$/ }).waitFor(WAIT);
    await main.locator('#vrrp-state.s-backup', { hasText: /^backup$/ }).waitFor(WAIT);
    expect(await text(main, '#vip-owner')).toBe('VIP 10.10.74.74/24 held by 10.10.74.86');
    expect(await text(main, '#cluster h2')).toContain('the director mwg2 (10.10.74.86)');
    const rows = await main
      .locator('#transitions tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent)),
      );
    // newest first: the failover, then the two of the sample
    expect(rows).toEqual([
      ['master → backup', 'higherPriority', '99'],
      ['backup → master', 'masterDown', '99'],
      ['initialize → backup', 'startup', '99'],
    ]);
    expect(await main.locator('#nodes tbody tr').count()).toBe(1);
    expect(await text(main, '#conn-text')).toBe('live');
    expect(problems).toEqual([]);
  });

  it('shows a drained node: this node directs again and mwg3 fails its port', async () => {
    const s = control.current;
    const healthy = healthyStatus().director;
    control.setStatus({
      node: { role: 'director', now: s.node.now + 60_000 },
      vrrp: {
        state: 'master',
        vipOwner: '10.10.74.70',
        transitions: [
          ...s.vrrp.transitions,
          { at: s.node.now + 59_000, from: 'backup', to: 'master', reason: 'masterDown', priority: 99 },
        ],
      },
      director: {
        ...healthy,
        nodes: healthy.nodes.map((n) =>
          n.name === 'mwg3'
            ? { ...n, health: 'failure' as const, failingPorts: [9090], effectiveWeight: 0, share: 0 }
            : { ...n, share: 0.5 },
        ),
      },
    });
    const drained = main.locator('#nodes tbody tr[data-node="mwg3"][data-health="failure"]');
    await drained.waitFor(WAIT);
    expect(await drained.getAttribute('class')).toContain('row-failure');
    expect(await drained.locator('td').nth(2).textContent()).toBe('drained failure: port 9090');
    expect(await drained.locator('td').nth(5).textContent()).toBe('0.0 %');
    expect(
      await main
        .locator('#nodes tbody tr[data-health="ok"]')
        .evaluateAll((r) => r.map((x) => x.dataset.node)),
    ).toEqual(['mwg1', 'mwg2']);
    expect(await text(main, '#role')).toBe('director');
    expect(await text(main, '#transitions tbody tr:first-child td:nth-child(2)')).toBe('backup → master');
    expect(problems).toEqual([]);
  });

  it('shows a split brain loudly, and node names from the network as text', async () => {
    const s = control.current;
    const evil = '<img src=x onerror="window.__pwned=1">mwg9';
    control.setStatus({
      director: {
        directors: [
          { id: SAMPLE_IDS.mwg1, name: 'mwg1', address: '10.10.74.70', priority: 99 },
          { id: 'e1e2e3e4', name: evil, address: '10.10.74.99', priority: 99 },
        ],
        nodes: [
          ...s.director.nodes,
          { ...(s.director.nodes[1] as LbStatusNode), id: 'e1e2e3e4', name: evil, address: '10.10.74.99' },
        ],
      },
      explanations: [
        { cause: 'unseen-nodes', message: 'central management knows <b>mwg4</b>, the director does not' },
      ],
    });
    const banner = main.locator('#split-brain');
    await banner.waitFor(WAIT);
    expect(await banner.textContent()).toContain('2 directors are announcing themselves in group 51');
    expect(await banner.textContent()).toContain(`${evil} (10.10.74.99, priority 99)`);
    expect(
      await main
        .locator(`#nodes tbody tr[data-node="${evil.replaceAll('"', '\\"')}"] td`)
        .first()
        .textContent(),
    ).toBe(`${evil}director`);
    expect(await text(main, '#explanations li')).toBe(
      'central management knows <b>mwg4</b>, the director does not',
    );
    expect(await main.locator('main img, #alerts img, #explanations b').count()).toBe(0);
    expect(await main.evaluate('window.__pwned')).toBeUndefined();
    control.setStatus({
      director: { directors: s.director.directors, nodes: s.director.nodes },
      explanations: [],
    });
    await banner.waitFor({ state: 'detached', ...WAIT });
    expect(problems).toEqual([]);
  });

  it('turns maintenance on after the confirm dialog, and does nothing when it is cancelled', async () => {
    const dialogs: string[] = [];
    const posts: string[] = [];
    main.on('request', (r) => {
      if (r.method() === 'POST') posts.push(`${r.url().replace(url(), '/')} ${r.postData()}`);
    });
    main.once('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await main.locator('#maintenance-toggle').click();
    await main.locator('#maintenance-badge').waitFor({ state: 'visible', ...WAIT });
    expect(await text(main, '#maintenance-toggle')).toBe('Leave maintenance');
    expect(await main.locator('#maintenance-alert').isVisible()).toBe(true);
    expect(control.calls).toEqual([{ method: 'setMaintenance', args: [true] }]);
    main.once('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await main.locator('#maintenance-toggle').click();
    await expect.poll(() => dialogs.length, WAIT).toBe(2);
    // the page's click handler has run to its end once the page answers again: no request was started
    await main.evaluate('0');
    expect(dialogs[0]).toMatch(/^Turn maintenance mode ON for mwg1\?/);
    expect(dialogs[1]).toMatch(/^Turn maintenance mode OFF for mwg1\?/);
    expect(posts).toEqual(['/api/v1/maintenance {"on":true}']);
    expect(await main.locator('#maintenance-toggle').isEnabled()).toBe(true);
    expect(control.calls).toEqual([{ method: 'setMaintenance', args: [true] }]);
    expect(control.current.node.maintenance).toBe(true);
    expect(problems).toEqual([]);
  });

  it('downloads the JSON status and the CSV export with the token', async () => {
    const [json] = await Promise.all([
      main.waitForEvent('download', WAIT),
      main.locator('#export-json').click(),
    ]);
    expect(json.suggestedFilename()).toBe('proxyha-mwg1-status.json');
    const doc = JSON.parse(readFileSync(await json.path(), 'utf8')) as GatewayStatus;
    expect(doc.node.name).toBe('mwg1');
    expect(doc.node.maintenance).toBe(true);
    const [csv] = await Promise.all([
      main.waitForEvent('download', WAIT),
      main.locator('#export-csv').click(),
    ]);
    expect(csv.suggestedFilename()).toBe('proxyha-mwg1-nodes.csv');
    const lines = readFileSync(await csv.path(), 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(
      'name,address,health,weight,effective_weight,share,active_connections,last_report_age_ms,self',
    );
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3))).toEqual([
      ['mwg1', '10.10.74.70', 'ok'],
      ['mwg2', '10.10.74.86', 'ok'],
      ['mwg3', '10.10.74.87', 'failure'],
    ]);
    expect(problems).toEqual([]);
  });

  it('asks for the token: none given, a wrong one (401), then the right one typed in', async () => {
    const bare = await openPage('no token');
    await bare.goto(url());
    await bare.locator('#login').waitFor({ state: 'visible', ...WAIT });
    expect(await text(bare, '#login-msg')).toMatch(/^Enter the admin token/);
    expect(await bare.locator('#main').isHidden()).toBe(true);

    // the browser itself logs the refused request as a console error: the only one allowed here
    const wrong = await openPage('wrong token', [/status of 401 \(Unauthorized\)/]);
    await wrong.goto(url('#token=not-the-token'));
    await wrong.locator('#login').waitFor({ state: 'visible', ...WAIT });
    expect(await text(wrong, '#login-msg')).toBe('The node refused this token (401). Enter the admin token.');
    expect(await wrong.locator('#main').isHidden()).toBe(true);
    expect(await wrong.evaluate("sessionStorage.getItem('proxyha.token')")).toBeNull();
    expect(control.calls).toHaveLength(1); // nothing was done with the wrong token
    await wrong.locator('#token-input').fill(TOKEN);
    await wrong.locator('#login button[type=submit]').click();
    await wrong.locator('#nodes tbody tr[data-node="mwg3"]').waitFor(WAIT);
    await wrong.locator('#conn.s-live').waitFor(WAIT);
    expect(await wrong.locator('#login').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('falls back to polling while the stream is refused, and goes live again', async () => {
    const page = await openPage('polling', [/net::ERR_FAILED/]);
    let refused = 0;
    await page.route('**/api/v1/events', (route) => {
      refused++;
      return route.abort('failed');
    });
    await page.goto(url(`#token=${TOKEN}`));
    await page.locator('#conn.s-polling').waitFor(WAIT);
    await page.locator('#nodes tbody tr').first().waitFor(WAIT);
    control.setStatus({ ntp: { verdict: 'warn', offsetMs: 700, message: 'time difference 700 ms' } });
    await page.locator('#time h2 .badge.s-warn', { hasText: 'warn' }).waitFor(WAIT);
    expect(await text(page, '#conn-text')).toBe('polling');
    expect(refused).toBeGreaterThanOrEqual(1);
    await page.unroute('**/api/v1/events');
    await page.locator('#conn.s-live').waitFor({ timeout: 60_000 });
    control.setStatus({ ntp: { verdict: 'ok', offsetMs: 4, message: null } });
    await page.locator('#time h2 .badge.s-ok').waitFor(WAIT);
    expect(problems).toEqual([]);
  });

  it('makes the README screenshot from a three-node cluster', async () => {
    control.setStatus(() => realisticStatus(Date.now()));
    const page = await openPage('screenshot');
    await page.goto(url(`#token=${TOKEN}`));
    await page.locator('#conn.s-live').waitFor(WAIT);
    await page.locator('#nodes tbody tr[data-node="mwg3"][data-health="failure"]').waitFor(WAIT);
    await page.locator('#cm-nodes tbody tr').nth(2).waitFor(WAIT);
    await page.locator('#transitions tbody tr').nth(3).waitFor(WAIT);
    expect(await page.locator('#maintenance-badge').isHidden()).toBe(true);
    const png = await page.screenshot({ fullPage: true });
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(1280); // IHDR width: the viewport
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      writeFileSync(SCREENSHOT, png);
    }
    expect(problems).toEqual([]);
  });

  it('left no console error and no page error in any page', async () => {
    for (const c of contexts) await c.close();
    expect(problems).toEqual([]);
  });
});
