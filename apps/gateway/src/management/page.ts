// The status page served at `/`: one HTML document with its CSS and JavaScript inline (no external
// assets, no framework, no build step). It reads the token from the URL fragment (`/#token=...`, never
// sent to the server), else from sessionStorage, else asks for it; then it follows
// `/api/v1/events` (server-sent events read with fetch(), since EventSource cannot send the
// Authorization header) and falls back to polling `/api/v1/status` every 2 s while the stream is down.
// Every value from the status document is put into the page as text (createTextNode / textContent):
// node names come from the network. A Content-Security-Policy allows exactly this page's own inline
// script and style (by hash), and requests to its own origin.
import { createHash } from 'node:crypto';

const STYLE = `
:root {
  --fg: #1f2328; --muted: #59636e; --bg: #f6f8fa; --card: #fff; --line: #d1d9e0;
  --green: #1a7f37; --green-bg: #dafbe1; --blue: #0969da; --blue-bg: #ddf4ff; --red: #cf222e;
  --red-bg: #ffebe9; --amber: #9a6700; --amber-bg: #fff8c5; --grey: #6e7781; --grey-bg: #eaeef2;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
header { background: #24292f; color: #fff; padding: 10px 20px; display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; }
header .who { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; }
header h1 { font-size: 18px; margin: 0 6px 0 0; font-weight: 600; }
header .brand { color: #8c959f; font-weight: 400; margin-right: 6px; }
header .grow { flex: 1 1 auto; }
header .meta { color: #d0d7de; display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: center; margin-top: 4px; width: 100%; }
header .actions { display: flex; flex-wrap: wrap; gap: 6px; }
header .stale { color: #ffb4ab; font-weight: 600; }
header button { font: inherit; border-radius: 6px; padding: 4px 10px; cursor: pointer; border: 1px solid #57606a; background: #32383f; color: #fff; }
header button:hover:not(:disabled) { background: #424a53; }
header button:disabled { opacity: .5; cursor: default; }
header button.maint-on { border-color: var(--amber); background: #5c4400; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 600; letter-spacing: .02em; text-transform: uppercase; border: 1px solid transparent; vertical-align: middle; }
.s-master, .s-ok, .s-director, .s-live, .s-yes { background: var(--green-bg); color: var(--green); border-color: var(--green); }
.s-backup, .s-scanner { background: var(--blue-bg); color: var(--blue); border-color: var(--blue); }
.s-fault, .s-failure, .s-fail, .s-no, .s-offline, .s-splitbrain { background: var(--red-bg); color: var(--red); border-color: var(--red); }
.s-warn, .s-maintenance, .s-polling { background: var(--amber-bg); color: var(--amber); border-color: var(--amber); }
.s-initialize, .s-unknown, .s-off, .s-connecting { background: var(--grey-bg); color: var(--grey); border-color: var(--grey); }
.conn .dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: var(--grey); }
.conn.s-live .dot { background: var(--green); }
.conn.s-polling .dot { background: #d4a72c; }
.conn.s-offline .dot { background: var(--red); }
.conn { border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 600; border: 1px solid; }
main { padding: 16px 20px 8px; display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
main > .wide { grid-column: 1 / -1; }
main > .stack { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
section h2 { font-size: 15px; margin: 0 0 8px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
section h2 .sub { font-weight: 400; color: var(--muted); font-size: 13px; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 8px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--bg); }
td.num, th.num { text-align: right; }
td.wrap { white-space: normal; overflow-wrap: anywhere; }
tr.self td:first-child { box-shadow: inset 3px 0 0 var(--blue); font-weight: 600; }
tr.row-failure td { background: var(--red-bg); }
tr.row-warn td { background: var(--amber-bg); }
.tag { display: inline-block; font-size: 11px; border-radius: 4px; padding: 0 5px; margin-left: 6px; border: 1px solid var(--line); color: var(--muted); font-weight: 400; }
.tag.director { border-color: var(--green); color: var(--green); }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; margin: 4px 0; }
.alerts { padding: 0 20px; }
.alert { margin: 12px 0 0; padding: 10px 14px; border-radius: 8px; border: 1px solid; }
.alert strong { margin-right: 6px; }
.alert.bad { background: var(--red-bg); border-color: var(--red); color: #82071e; }
.alert.loud { font-size: 16px; font-weight: 600; border-width: 3px; }
.alert.warn { background: var(--amber-bg); border-color: #d4a72c; color: #4d2d00; }
.alert.info { background: var(--blue-bg); border-color: var(--blue); color: #0a3069; }
.alert ul { margin: 4px 0 0; padding-left: 20px; }
.bar { display: inline-block; height: 8px; border-radius: 4px; background: var(--blue); vertical-align: middle; margin-left: 6px; }
#login { max-width: 420px; margin: 48px auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 20px; }
#login h2 { margin: 0 0 8px; font-size: 16px; }
#login p { margin: 0 0 12px; color: var(--muted); }
#login .err { color: var(--red); }
#login input { width: 100%; font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; margin-bottom: 10px; }
#login button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--green); background: var(--green); color: #fff; cursor: pointer; }
footer { padding: 8px 20px 16px; color: var(--muted); font-size: 12px; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
`;

// Plain JavaScript for the browser (no template literals: this is itself a template literal), ASCII only:
// other characters as \u escapes in its strings (the raw text keeps the gateway's bundle one byte per
// character, see tsup.config.ts).
const SCRIPT = String.raw`
(function () {
  'use strict';
  var TOKEN_KEY = 'proxyha.token';
  var POLL_MS = 2000;
  var REFRESH_MS = 10000;
  var RETRY_MIN_MS = 2000;
  var RETRY_MAX_MS = 30000;
  var STALE_MS = 30000;

  var S = {
    gen: 0, token: null, doc: null, receivedAt: 0, seq: 0, mode: 'connecting',
    abort: null, refreshTimer: null, retryTimer: null, tickTimer: null, retryMs: RETRY_MIN_MS,
    streamOpen: false, lastError: null
  };

  function $(id) { return document.getElementById(id); }

  // ---- DOM building: text only, never markup from data ----
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = String(v);
        else if (k === 'title') el.title = String(v);
        else el.setAttribute(k, String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { add(el, c); }); return; }
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  function badge(text, cls) { return h('span', { class: 'badge s-' + cls, text: text }); }
  function setBadge(el, text, cls) { el.textContent = text; el.className = 'badge s-' + cls; }

  // ---- formatting ----
  function num(v, d) { return typeof v === 'number' && isFinite(v) ? v : d; }
  function str(v, d) { return typeof v === 'string' ? v : d; }
  function arr(v) { return Array.isArray(v) ? v : []; }
  function obj(v) { return v && typeof v === 'object' && !Array.isArray(v) ? v : {}; }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function fmtTime(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '\u2014';
    var d = new Date(ms), now = new Date();
    var t = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (d.toDateString() === now.toDateString()) return t;
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + t;
  }
  function fmtAge(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '\u2014';
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + (s % 60) + ' s';
    var hr = Math.floor(m / 60);
    if (hr < 48) return hr + ' h ' + (m % 60) + ' min';
    return Math.floor(hr / 24) + ' d ' + (hr % 24) + ' h';
  }
  // Short ages (a report every interval): tenths of a second below 10 s.
  function fmtShortAge(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '\u2014';
    return ms < 10000 ? (Math.max(0, ms) / 1000).toFixed(1) + ' s' : fmtAge(ms);
  }
  function fmtPct(v) { return typeof v === 'number' && isFinite(v) ? (v * 100).toFixed(1) + ' %' : '\u2014'; }
  function fmtOffset(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return 'unknown';
    var a = Math.abs(ms);
    var t = a >= 1000 ? (ms / 1000).toFixed(3) + ' s' : ms.toFixed(1) + ' ms';
    return (ms > 0 ? '+' : '') + t;
  }
  function fmtCount(v) { return typeof v === 'number' && isFinite(v) ? v.toLocaleString('en-US') : '\u2014'; }
  function fmtInt(v) { return typeof v === 'number' && isFinite(v) ? String(v) : '\u2014'; }
  function shortId(id) { id = str(id, ''); return id.length > 12 ? id.slice(0, 12) : id; }
  // Server time now, estimated from the document's clock and the time since it arrived.
  function serverNow() { return S.doc ? num(S.doc.node && S.doc.node.now, Date.now()) + (Date.now() - S.receivedAt) : Date.now(); }
  function since(at) {
    if (typeof at !== 'number' || !isFinite(at)) return '\u2014';
    return h('span', { 'data-since': at, text: fmtAge(serverNow() - at) + ' ago' });
  }

  // ---- connection state ----
  function setMode(mode, detail) {
    S.mode = mode;
    var el = $('conn');
    el.className = 'conn s-' + mode;
    $('conn-text').textContent = mode;
    el.title = detail || {
      live: 'live: the page receives every change as it happens (server-sent events)',
      polling: 'polling: the live stream is down; the page asks every 2 s and retries the stream',
      offline: 'offline: the node does not answer',
      connecting: 'connecting'
    }[mode] || mode;
    tick();
  }
  function showError(text) { var e = $('error'); e.textContent = text || ''; e.hidden = !text; }

  function readStoredToken() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
  function storeToken(t) { try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off */ } }
  function tokenFromFragment() {
    var frag = location.hash.replace(/^#/, '');
    if (!frag) return null;
    var t = new URLSearchParams(frag).get('token');
    return t && t.trim() ? t.trim() : null;
  }
  function authHeaders(extra) {
    var hd = { Authorization: 'Bearer ' + S.token };
    if (extra) Object.keys(extra).forEach(function (k) { hd[k] = extra[k]; });
    return hd;
  }

  function stop() {
    S.gen++;
    if (S.abort) { try { S.abort.abort(); } catch (e) { /* already done */ } }
    S.abort = null; S.streamOpen = false;
    clearTimeout(S.refreshTimer); clearTimeout(S.retryTimer); clearInterval(S.tickTimer);
    S.refreshTimer = S.retryTimer = S.tickTimer = null;
  }
  function start(token) {
    stop();
    var gen = S.gen;
    S.token = token; S.retryMs = RETRY_MIN_MS;
    $('login').hidden = true;
    $('conn').hidden = false;
    setMode('connecting');
    openStream(gen);
    S.refreshTimer = setTimeout(function () { refreshLoop(gen); }, POLL_MS);
    S.tickTimer = setInterval(tick, 1000);
  }
  function showLogin(message) {
    stop();
    S.token = null;
    S.doc = null;
    $('login').hidden = false;
    $('main').hidden = true;
    $('alerts').hidden = true;
    $('node-name').textContent = '';
    ['role', 'vrrp-state', 'maintenance-badge', 'conn'].forEach(function (id) { $(id).hidden = true; });
    $('vip-owner').textContent = '';
    setActionsEnabled(false);
    var m = $('login-msg');
    m.textContent = message || 'Enter the admin token of this node (the management.tokenFile of its configuration).';
    m.className = message ? 'err' : '';
    $('updated').textContent = '';
    $('token-input').value = '';
    $('token-input').focus();
  }
  function unauthorized(gen) {
    if (gen !== S.gen) return;
    storeToken(null);
    showLogin('The node refused this token (401). Enter the admin token.');
  }

  // ---- the live stream: server-sent events over fetch() ----
  function openStream(gen) {
    if (gen !== S.gen) return;
    var ctrl = new AbortController();
    S.abort = ctrl;
    fetch('api/v1/events', { headers: authHeaders({ Accept: 'text/event-stream' }), signal: ctrl.signal, cache: 'no-store' })
      .then(function (res) {
        if (gen !== S.gen) { ctrl.abort(); return; }
        if (res.status === 401) { unauthorized(gen); return; }
        if (!res.ok || !res.body) { streamFailed(gen, 'HTTP ' + res.status); return; }
        return readStream(gen, res.body.getReader());
      })
      .catch(function (e) {
        if (gen !== S.gen) return;
        streamFailed(gen, e && e.message ? e.message : 'stream failed');
      });
  }
  async function readStream(gen, reader) {
    var decoder = new TextDecoder();
    var buf = '', carry = '';
    S.streamOpen = true;
    for (;;) {
      var r = await reader.read();
      if (gen !== S.gen) { reader.cancel().catch(function () {}); return; }
      if (r.done) { streamFailed(gen, 'the node closed the stream'); return; }
      var text = carry + decoder.decode(r.value, { stream: true });
      carry = '';
      // A CR at the end of a chunk may be the first half of a CRLF: keep it for the next chunk.
      if (text.charAt(text.length - 1) === '\r') { carry = '\r'; text = text.slice(0, -1); }
      buf += text.replace(/\r\n?/g, '\n');
      var i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        var block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        onEventBlock(gen, block);
        if (gen !== S.gen) return;
      }
    }
  }
  function onEventBlock(gen, block) {
    var type = 'message', data = [];
    block.split('\n').forEach(function (line) {
      if (line === '' || line.charAt(0) === ':') return;
      var c = line.indexOf(':');
      var field = c < 0 ? line : line.slice(0, c);
      var value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    });
    if (type !== 'status' || data.length === 0) return;
    var doc;
    try { doc = JSON.parse(data.join('\n')); } catch (e) { return; }
    S.seq++;
    if (S.mode !== 'live') { setMode('live'); }
    S.retryMs = RETRY_MIN_MS;
    clearTimeout(S.retryTimer); S.retryTimer = null;
    accept(gen, doc);
  }
  function streamFailed(gen, why) {
    if (gen !== S.gen) return;
    S.streamOpen = false;
    S.lastError = why;
    if (S.mode !== 'offline') setMode('polling', 'polling: the live stream is down (' + why + '); retrying it');
    clearTimeout(S.refreshTimer);
    refreshLoop(gen);
    clearTimeout(S.retryTimer);
    S.retryTimer = setTimeout(function () { if (gen === S.gen) openStream(gen); }, S.retryMs);
    S.retryMs = Math.min(RETRY_MAX_MS, S.retryMs * 2);
  }

  // ---- polling: every 2 s while the stream is down, every 10 s while live (fresh ages) ----
  function refreshLoop(gen) {
    if (gen !== S.gen) return;
    var due = S.mode !== 'live' || Date.now() - S.receivedAt >= REFRESH_MS;
    var p = due ? pollOnce(gen) : Promise.resolve();
    p.then(function () {
      if (gen !== S.gen) return;
      clearTimeout(S.refreshTimer);
      S.refreshTimer = setTimeout(function () { refreshLoop(gen); }, POLL_MS);
    });
  }
  function pollOnce(gen) {
    var seq = S.seq;
    return fetch('api/v1/status', { headers: authHeaders({ Accept: 'application/json' }), cache: 'no-store' })
      .then(function (res) {
        if (gen !== S.gen) return;
        if (res.status === 401) { unauthorized(gen); return; }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json().then(function (doc) {
          if (gen !== S.gen) return;
          if (!S.streamOpen && S.mode !== 'polling') setMode('polling');
          // An event that arrived while this request was under way is newer: keep it.
          if (seq !== S.seq) return;
          accept(gen, doc);
        });
      })
      .catch(function (e) {
        if (gen !== S.gen) return;
        if (!S.streamOpen) setMode('offline', 'offline: ' + (e && e.message ? e.message : 'no answer'));
      });
  }

  function accept(gen, doc) {
    if (gen !== S.gen) return;
    if (!doc || typeof doc !== 'object' || !doc.node || typeof doc.node !== 'object') {
      showError('The node sent a status this page does not understand.');
      return;
    }
    S.doc = doc;
    S.receivedAt = Date.now();
    render(doc);
  }

  // ---- rendering ----
  var VRRP_STATES = ['master', 'backup', 'fault', 'initialize'];
  function vrrpClass(s) { return VRRP_STATES.indexOf(s) >= 0 ? s : 'unknown'; }
  var KNOWN_CLASSES = ['ok', 'failure', 'unknown', 'warn', 'fail', 'off'];
  function statusClass(s) { return KNOWN_CLASSES.indexOf(s) >= 0 ? s : 'unknown'; }

  function render(doc) {
    var node = obj(doc.node), vrrp = obj(doc.vrrp), dir = obj(doc.director);
    var state = str(vrrp.state, 'unknown');
    var role = str(node.role, 'unknown');
    document.title = str(node.name, '?') + ' \u00b7 ' + role + ' \u00b7 ' + state + ' \u2014 proxyha';
    $('node-name').textContent = str(node.name, '?');
    $('role').hidden = false;
    $('vrrp-state').hidden = false;
    setBadge($('role'), role, role === 'director' ? 'director' : role === 'scanner' ? 'scanner' : 'unknown');
    setBadge($('vrrp-state'), state, vrrpClass(state));
    $('maintenance-badge').hidden = node.maintenance !== true;
    var owner = vrrp.vipOwner;
    var selfAddr = dir.self ? str(dir.self.address, '') : '';
    $('vip-owner').textContent = 'VIP ' + (arr(vrrp.virtualIps).join(', ') || '\u2014') + ' held by ' +
      (typeof owner === 'string' ? owner + (state === 'master' || owner === selfAddr ? ' (this node)' : '') : 'unknown');
    var btn = $('maintenance-toggle');
    btn.textContent = node.maintenance === true ? 'Leave maintenance' : 'Enter maintenance';
    btn.className = node.maintenance === true ? 'maint-on' : '';
    setActionsEnabled(true);
    showError('');

    renderAlerts(doc);
    var main = $('main');
    main.replaceChildren(
      clusterSection(doc),
      vrrpSection(vrrp),
      h('div', { class: 'stack' }, healthSection(obj(doc.health)), timeSection(obj(doc.ntp))),
      cmSection(doc.cm)
    );
    main.hidden = false;
    tick();
  }

  function renderAlerts(doc) {
    var node = obj(doc.node), vrrp = obj(doc.vrrp), dir = obj(doc.director), health = obj(doc.health);
    var list = [];
    var directors = arr(dir.directors);
    if (directors.length > 1) {
      list.push(h('div', { class: 'alert bad loud', id: 'split-brain', role: 'alert' },
        h('strong', { text: 'SPLIT BRAIN:' }),
        directors.length + ' directors are announcing themselves in group ' + fmtInt(dir.group) + ': ',
        directors.map(function (d, i) {
          d = obj(d);
          return [i ? ', ' : '', h('span', { class: 'mono', text: str(d.name, '?') + ' (' + str(d.address, '?') + ', priority ' + fmtCount(d.priority) + ')' })];
        }),
        '. Clients may be split between them: check the VRRP interface, group id and firewalls.'));
    }
    if (node.maintenance === true) {
      list.push(h('div', { class: 'alert warn', id: 'maintenance-alert' }, h('strong', { text: 'Maintenance mode is on.' }),
        'This node takes no new clients as a scanning node and does not stay director. It stays so across restarts until turned off.'));
    }
    var faults = arr(vrrp.faultReasons);
    if (faults.length) {
      list.push(h('div', { class: 'alert bad' }, h('strong', { text: 'VRRP fault:' }), faults.join(', ')));
    }
    if (health.status === 'failure') {
      var failing = arr(health.ports).filter(function (p) { return obj(p).status === 'failure'; })
        .map(function (p) { return obj(p).port; });
      list.push(h('div', { class: 'alert bad' }, h('strong', { text: 'Health: failure.' }),
        'Redirect port(s) ' + (failing.join(', ') || '?') + ' do not answer: the director drains this node' +
        (node.role === 'director' ? ' and it gives up the VIP (tracker).' : '.')));
    }
    var ex = arr(doc.explanations);
    if (ex.length) {
      list.push(h('div', { class: 'alert info', id: 'explanations' }, h('strong', { text: 'Why the load may be uneven:' }),
        h('ul', null, ex.map(function (e) { e = obj(e); return h('li', { 'data-cause': str(e.cause, ''), text: str(e.message, str(e.cause, '')) }); }))));
    }
    var box = $('alerts');
    box.replaceChildren.apply(box, list);
    box.hidden = list.length === 0;
  }

  function table(headers, rows, id) {
    return h('div', { class: 'scroll' }, h('table', { id: id },
      h('thead', null, h('tr', null, headers.map(function (x) {
        var num = x.charAt(0) === '#';
        return h('th', { class: num ? 'num' : null, text: num ? x.slice(1) : x });
      }))),
      h('tbody', null, rows)));
  }
  function td(text, cls) { return h('td', { class: cls || null }, text); }
  function kv(pairs) {
    return h('dl', { class: 'kv' }, pairs.map(function (p) { return [h('dt', { text: p[0] }), h('dd', null, p[1])]; }));
  }

  function clusterSection(doc) {
    var dir = obj(doc.director), node = obj(doc.node);
    var nodes = arr(dir.nodes);
    var isDirector = dir.role === 'director';
    var director = dir.director ? obj(dir.director) : null;
    var directorIds = new Set();
    arr(dir.directors).forEach(function (d) { directorIds.add(obj(d).id); });
    if (director) directorIds.add(director.id);
    var rows = nodes.map(function (n) {
      n = obj(n);
      var failed = n.health !== 'ok';
      var weight0 = !failed && num(n.effectiveWeight, 1) === 0;
      var cls = [n.self ? 'self' : '', failed ? 'row-failure' : weight0 ? 'row-warn' : ''].join(' ').trim();
      var healthCell = failed
        ? [badge('drained', 'failure'), ' ', h('span', { class: 'muted', text: 'failure' + (arr(n.failingPorts).length ? ': port ' + arr(n.failingPorts).join(', ') : '') })]
        : weight0 ? [badge('no traffic', 'warn'), ' ', h('span', { class: 'muted', text: 'weight 0' })] : badge('ok', 'ok');
      var share = num(n.share, 0);
      return h('tr', { class: cls || null, 'data-node': str(n.name, ''), 'data-health': failed ? 'failure' : 'ok' },
        td([str(n.name, '?'), n.self ? h('span', { class: 'tag', text: 'this node' }) : null,
          directorIds.has(n.id) ? h('span', { class: 'tag director', text: 'director' }) : null]),
        td(str(n.address, '?'), 'mono'),
        td(healthCell),
        td(fmtCount(n.weight), 'num'),
        td(n.effectiveWeight === undefined || n.effectiveWeight === null ? '\u2014' : fmtCount(n.effectiveWeight), 'num'),
        td([fmtPct(share), h('span', { class: 'bar', 'data-w': Math.round(share * 60) })], 'num'),
        td(fmtCount(n.activeConnections), 'num'),
        td(n.resources ? fmtPct(obj(n.resources).cpu) + ' / ' + fmtPct(obj(n.resources).memory) : '\u2014', 'num'),
        td(fmtShortAge(n.lastReportAgeMs), 'num'));
    });
    var sub = isDirector
      ? 'as this node, the director, sees it'
      : director ? 'this node is a scanning node; the director ' + str(director.name, '?') + ' (' + str(director.address, '?') + ') has the full view'
        : 'this node is a scanning node and hears no director';
    var conns = obj(dir.connections);
    var redirects = arr(dir.redirects).map(function (r) { r = obj(r); return r.originalPort + ' \u2192 ' + r.destinationPort; });
    var sec = h('section', { class: 'wide', id: 'cluster' },
      h('h2', null, 'Cluster', h('span', { class: 'sub', text: 'group ' + fmtInt(dir.group) + ' \u00b7 ' + sub })),
      nodes.length ? table(['Node', 'Address', 'Health', '#Weight', '#Eff. weight', '#Share', '#Connections', '#CPU / memory', '#Last report'], rows, 'nodes')
        : h('p', { class: 'empty', text: 'No nodes known.' }),
      kv([
        ['Director', director ? str(director.name, '?') + ' (' + str(director.address, '?') + ')' + (isDirector ? ' \u2014 this node' : '') : 'none heard'],
        ['Data plane', str(dir.dataPlane, '\u2014') + (isDirector ? ' \u00b7 ' + fmtCount(conns.accepted) + ' connections accepted, ' + fmtCount(conns.failed) + ' failed' : '')],
        ['Redirects', redirects.length ? redirects.join(', ') : 'none (the director handles traffic locally)'],
        ['Table', dir.table ? fmtCount(obj(dir.table).size) + ' buckets' : dir.heldTable ? 'held for a takeover: ' + fmtCount(obj(dir.heldTable).size) + ' buckets, ' + fmtCount(obj(dir.heldTable).nodes) + ' nodes' : '\u2014'],
        ['This node', str(node.name, '?') + ' ' + str(node.version, '') + ', up ' + fmtAge(num(node.now, 0) - num(node.startedAt, 0))]
      ]));
    // Share bars: widths set through CSSOM (allowed by the page's CSP; style attributes are not).
    sec.querySelectorAll('.bar').forEach(function (b) { b.style.width = Number(b.getAttribute('data-w')) + 'px'; });
    return sec;
  }

  function vrrpSection(vrrp) {
    var dropped = obj(vrrp.dropped);
    var droppedText = Object.keys(dropped).map(function (k) { return k + ' ' + dropped[k]; }).join(', ') || 'none';
    var transitions = arr(vrrp.transitions).slice().reverse();
    var rows = transitions.map(function (t) {
      t = obj(t);
      return h('tr', null,
        td(fmtTime(t.at)),
        td([badge(str(t.from, '?'), vrrpClass(t.from)), ' \u2192 ', badge(str(t.to, '?'), vrrpClass(t.to))]),
        td(str(t.reason, ''), 'wrap'),
        td(fmtCount(t.priority), 'num'));
    });
    return h('section', { id: 'vrrp' },
      h('h2', null, 'VRRP', badge(str(vrrp.state, 'unknown'), vrrpClass(vrrp.state)),
        h('span', { class: 'sub', text: str(vrrp.instance, '') + ' \u00b7 VRID ' + fmtInt(vrrp.vrid) + ' \u00b7 ' + str(vrrp.interface, '') })),
      kv([
        ['Priority', fmtCount(vrrp.effectivePriority) + ' effective (configured ' + fmtCount(vrrp.basePriority) + ')'],
        ['Virtual IPs', arr(vrrp.virtualIps).join(', ') || '\u2014'],
        ['VIP owner', typeof vrrp.vipOwner === 'string' ? vrrp.vipOwner : 'unknown'],
        ['Adverts', fmtCount(vrrp.advertsSent) + ' sent, ' + fmtCount(vrrp.advertsReceived) + ' received; dropped: ' + droppedText],
        ['Became master', fmtCount(vrrp.becameMaster) + (vrrp.becameMaster === 1 ? ' time' : ' times')]
      ]),
      h('h2', null, 'Recent transitions', h('span', { class: 'sub', text: 'newest first' })),
      rows.length ? table(['Time', 'Change', 'Reason', '#Priority'], rows, 'transitions') : h('p', { class: 'empty', text: 'No transitions yet.' }));
  }

  function healthSection(health) {
    var ports = arr(health.ports);
    var rows = ports.map(function (p) {
      p = obj(p);
      var st = str(p.status, 'unknown');
      return h('tr', { class: st === 'failure' ? 'row-failure' : null, 'data-port': p.port },
        td(fmtInt(p.port), 'num'), td(badge(st, statusClass(st))), td([fmtTime(p.since), ' (', since(p.since), ')']),
        td(p.reason === null || p.reason === undefined ? '\u2014' : str(p.reason, ''), 'wrap'));
    });
    var st = str(health.status, 'unknown');
    return h('section', { id: 'health' },
      h('h2', null, 'Health', badge(st, statusClass(st)), h('span', { class: 'sub', text: 'redirect ports on ' + str(health.host, '?') + ', as a whole' })),
      kv([['Since', [fmtTime(health.since), ' (', since(health.since), ')']]]),
      rows.length ? table(['#Port', 'Status', 'Since', 'Reason'], rows, 'ports') : h('p', { class: 'empty', text: 'No ports monitored.' }));
  }

  function timeSection(ntp) {
    var v = str(ntp.verdict, 'unknown');
    return h('section', { id: 'time' },
      h('h2', null, 'Time', badge(v, statusClass(v)), h('span', { class: 'sub', text: 'time-skew guard (NTP)' })),
      v === 'off' ? h('p', { class: 'empty', text: 'No ntp section: the clock is not checked.' }) : kv([
        ['Offset', fmtOffset(ntp.offsetMs)],
        ['Servers', arr(ntp.servers).join(', ') || '\u2014'],
        ['Last check', typeof ntp.checkedAt === 'number' ? [fmtTime(ntp.checkedAt), ' (', since(ntp.checkedAt), ')'] : 'not yet'],
        ['Message', ntp.message === null || ntp.message === undefined ? '\u2014' : str(ntp.message, '')]
      ]));
  }

  function cmSection(cm) {
    if (!cm || typeof cm !== 'object') {
      return h('section', { id: 'cm', class: 'wide' }, h('h2', null, 'Central management', badge('off', 'off')),
        h('p', { class: 'empty', text: 'Not configured (no cm section): this node keeps its policy to itself.' }));
    }
    var policy = cm.policy ? obj(cm.policy) : null;
    var selfUuid = cm.self ? obj(cm.self).uuid : null;
    var rows = arr(cm.nodes).map(function (n, i) {
      n = obj(n);
      var self = i === 0 || (selfUuid && n.uuid === selfUuid);
      return h('tr', { class: [self ? 'self' : '', n.reachable ? '' : 'row-failure'].join(' ').trim() || null, 'data-cm-node': str(n.name, '') },
        td([str(n.name, '?'), self ? h('span', { class: 'tag', text: 'this node' }) : null]),
        td(str(n.address, '?'), 'mono'),
        td(n.storageTimestamp === null || n.storageTimestamp === undefined ? '\u2014' : str(n.storageTimestamp, ''), 'mono'),
        td(n.reachable ? badge('yes', 'yes') : badge('no', 'no')),
        td(n.lastError === null || n.lastError === undefined ? '\u2014' : str(n.lastError, ''), 'wrap'));
    });
    var conflicts = arr(cm.conflicts).map(function (c) {
      c = obj(c);
      var w = obj(c.winner), l = obj(c.loser);
      return h('li', null, h('span', { class: 'mono', text: str(c.scope, '?') }), ': kept ',
        h('span', { class: 'mono', text: shortId(w.id) }), ' from ' + str(w.origin, '?') + ' (' + str(w.storageTimestamp, '?') + '), set aside ',
        h('span', { class: 'mono', text: shortId(l.id) }), ' from ' + str(l.origin, '?') + ' (' + str(l.storageTimestamp, '?') + ')');
    });
    return h('section', { id: 'cm', class: 'wide' },
      h('h2', null, 'Central management', cm.inSync ? badge('in sync', 'ok') : badge('not in sync', 'failure')),
      kv([
        ['Policy', policy ? [h('span', { class: 'mono', text: shortId(policy.id) }), ' saved on ' + str(policy.origin, '?') + ' \u00b7 ',
          h('span', { class: 'mono', text: str(policy.storageTimestamp, '') })] : 'none saved yet'],
        ['Storage timestamp age', cm.storageTimestampAgeMs === null || cm.storageTimestampAgeMs === undefined ? '\u2014' : fmtAge(cm.storageTimestampAgeMs)],
        ['Replication errors', fmtCount(cm.errors)]
      ]),
      rows.length ? table(['Node', 'Address', 'Current Storage Timestamp', 'Reachable', 'Last error'], rows, 'cm-nodes') : null,
      conflicts.length ? h('div', { class: 'alert warn', id: 'conflicts' }, h('strong', { text: 'Conflicts (the loser is kept):' }), h('ul', null, conflicts))
        : h('p', { class: 'empty', text: 'No conflicts.' }));
  }

  // Every second: the "updated N s ago" line and the ages of absolute times.
  function tick() {
    var up = $('updated');
    if (!S.doc) { up.textContent = S.token ? 'waiting for the first status\u2026' : ''; return; }
    var age = Date.now() - S.receivedAt;
    up.textContent = 'updated ' + fmtAge(age) + ' ago';
    up.className = age > STALE_MS && S.mode !== 'live' ? 'stale' : '';
    var now = serverNow();
    document.querySelectorAll('[data-since]').forEach(function (el) {
      el.textContent = fmtAge(now - Number(el.getAttribute('data-since'))) + ' ago';
    });
  }

  // ---- actions ----
  function setActionsEnabled(on) {
    ['maintenance-toggle', 'export-json', 'export-csv', 'forget-token'].forEach(function (id) { $(id).disabled = !on; });
  }
  function apiError(res) {
    return res.text().then(function (t) {
      var msg = 'HTTP ' + res.status;
      try {
        var b = JSON.parse(t);
        var e = b && typeof b.error === 'object' && b.error ? b.error : b;
        if (e && typeof e.message === 'string') msg = (typeof e.code === 'string' ? e.code + ': ' : '') + e.message;
      } catch (x) { /* not JSON */ }
      return msg;
    });
  }
  function toggleMaintenance() {
    if (!S.doc) return;
    var gen = S.gen;
    var on = S.doc.node.maintenance !== true;
    var name = str(S.doc.node.name, 'this node');
    var question = on
      ? 'Turn maintenance mode ON for ' + name + '?\n\nThe director stops sending new clients to it, and if it is the director it hands the VIP over. It stays on across restarts until you turn it off.'
      : 'Turn maintenance mode OFF for ' + name + '?\n\nIt takes clients again and may become director again.';
    if (!window.confirm(question)) return;
    var btn = $('maintenance-toggle');
    btn.disabled = true;
    fetch('api/v1/maintenance', { method: 'POST', headers: authHeaders({ 'Content-Type': 'application/json' }), body: JSON.stringify({ on: on }) })
      .then(function (res) {
        if (gen !== S.gen) return;
        if (res.status === 401) { unauthorized(gen); return; }
        if (!res.ok) return apiError(res).then(function (m) { showError('Maintenance ' + (on ? 'on' : 'off') + ' failed: ' + m); });
        return pollOnce(gen);
      })
      .catch(function (e) { if (gen === S.gen) showError('Maintenance ' + (on ? 'on' : 'off') + ' failed: ' + (e && e.message)); })
      .then(function () { if (gen === S.gen) btn.disabled = false; });
  }
  function safeName(s) { return String(s).replace(/[^A-Za-z0-9._-]/g, '_'); }
  function download(path, filename) {
    var gen = S.gen;
    fetch(path, { headers: authHeaders(), cache: 'no-store' })
      .then(function (res) {
        if (gen !== S.gen) return;
        if (res.status === 401) { unauthorized(gen); return; }
        if (!res.ok) return apiError(res).then(function (m) { showError('Export failed: ' + m); });
        return res.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = h('a', { href: url, download: filename });
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        });
      })
      .catch(function (e) { if (gen === S.gen) showError('Export failed: ' + (e && e.message)); });
  }
  function nodeName() { return safeName(S.doc ? str(S.doc.node.name, 'node') : 'node'); }

  $('maintenance-toggle').addEventListener('click', toggleMaintenance);
  $('export-json').addEventListener('click', function () { download('api/v1/status', 'proxyha-' + nodeName() + '-status.json'); });
  $('export-csv').addEventListener('click', function () { download('api/v1/nodes.csv', 'proxyha-' + nodeName() + '-nodes.csv'); });
  $('forget-token').addEventListener('click', function () { storeToken(null); showLogin(null); });
  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = $('token-input').value.trim();
    if (!t) return;
    storeToken(t);
    start(t);
  });

  // ---- start: the token from the fragment (then removed from the address bar), else this tab's storage ----
  var token = tokenFromFragment();
  if (token) {
    storeToken(token);
    history.replaceState(null, '', location.pathname + location.search);
  } else {
    token = readStoredToken();
  }
  if (token) start(token); else showLogin(null);
})();
`;

const BODY = `<header>
  <div>
    <div class="who">
      <h1><span class="brand">proxyha</span><span id="node-name"></span></h1>
      <span id="role" class="badge s-unknown" hidden></span>
      <span id="vrrp-state" class="badge s-unknown" hidden></span>
      <span id="maintenance-badge" class="badge s-maintenance" hidden>maintenance</span>
    </div>
    <div class="meta"><span id="vip-owner"></span><span id="updated"></span>
      <span id="conn" class="conn s-connecting"><span class="dot"></span><span id="conn-text">connecting</span></span></div>
  </div>
  <span class="grow"></span>
  <div class="actions">
    <button id="maintenance-toggle" type="button" disabled>Enter maintenance</button>
    <button id="export-json" type="button" disabled title="Download the status (/api/v1/status)">Export JSON</button>
    <button id="export-csv" type="button" disabled title="Download the nodes (/api/v1/nodes.csv)">Export CSV</button>
    <button id="forget-token" type="button" disabled title="Forget the token in this tab">Sign out</button>
  </div>
</header>
<div class="alerts"><div id="error" class="alert bad" role="alert" hidden></div></div>
<div id="alerts" class="alerts" hidden></div>
<form id="login" hidden autocomplete="off">
  <h2>Admin token</h2>
  <p id="login-msg"></p>
  <input id="token-input" type="password" name="token" aria-label="Admin token" placeholder="token" autocomplete="off">
  <button type="submit">Show status</button>
</form>
<main id="main" hidden></main>
<footer>proxyha gateway status page · live via server-sent events, polling every 2 s when the stream is down · JSON and CSV exports need the admin token</footer>
<noscript><p>This page needs JavaScript.</p></noscript>`;

/** `'sha256-...'` of an inline script or style, as a CSP source expression. */
function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

const CSP = [
  "default-src 'none'",
  `script-src ${cspHash(SCRIPT)}`,
  `style-src ${cspHash(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="referrer" content="no-referrer">
<title>proxyha status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script>${SCRIPT}</script>
</body>
</html>
`;

/**
 * The status page served at `/`: one self-contained HTML document (inline CSS and JavaScript, no external
 * assets). It needs no token to load; in the browser it takes the admin token from the URL fragment
 * (`/#token=...`), else from the tab's sessionStorage, else asks for it, then follows `GET /api/v1/events`
 * (server-sent `status` events) with `Authorization: Bearer <token>`, polling `GET /api/v1/status` every
 * 2 s while the stream is down. It shows this node's role, VRRP state and transitions, the cluster as the
 * director sees it, the health of every redirect port, the time offset, central management's sync and
 * the explanations of uneven load; it turns maintenance mode on and off (`POST /api/v1/maintenance`) and
 * downloads the JSON status and the CSV export (`GET /api/v1/nodes.csv`).
 *
 * @returns the HTML document (the same string on every call)
 */
export function statusPageHtml(): string {
  return HTML;
}

/**
 * The Content-Security-Policy of {@link statusPageHtml} (it also carries it in a `<meta>` element): only
 * the page's own inline script and style (by hash) and requests to the page's own origin. A server may
 * send it as a header too (add `frame-ancestors 'none'` there: a `<meta>` cannot carry it).
 *
 * @returns the policy's value
 */
export function statusPageCsp(): string {
  return CSP;
}
