// The driver of the update machine: HTTP(S) downloads with resume, manifest signatures, SHA-256 checks,
// atomic writes under <dataDir>/updates/<list>/, chunked transfers between members over the mutual-TLS
// connections, the apply command, the status. Every failure becomes an event and a log line; nothing stops
// the node.
import { createHash, verify as verifySignature } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import {
  type Clock,
  type CommandRunner,
  err,
  type Logger,
  ok,
  type Result,
  runCommand,
  type TimerHandle,
} from '@proxyha/common';
import { type CmUpdatesConfig, ed25519PublicKey, type UpdateSourceConfig } from '../config/updates';
import { CmError } from '../errors';
import {
  checkUpdateKey,
  checkUpdateMessage,
  type HeldUpdate,
  type UpdateAction,
  type UpdateDataMessage,
  type UpdateEvent,
  type UpdateListVersion,
  UpdateMachine,
  type UpdateMessage,
  type UpdateProof,
} from '../machine/updates';

/** One list in {@link CmUpdateStatus}. */
export interface CmUpdateListStatus {
  /** The list (update source) name. */
  readonly name: string;
  /** The version held here, or null. */
  readonly version: string | null;
  /** Its SHA-256. */
  readonly sha256: string | null;
  /** Its size in bytes. */
  readonly size: number | null;
  /** Where it came from: `internet`, or the name of the member it was fetched from. */
  readonly from: string | null;
  /** When it was put in place (ISO 8601). */
  readonly at: string | null;
  /** The source's version at the last check. */
  readonly published: string | null;
  /** What is under way: `downloading 2026.12` or `fetching 2026.12 from tokyo-2`. */
  readonly busy: string | null;
  /** The last failure (cleared by the next success). */
  readonly lastError: string | null;
}

/** The update section of {@link CmStatus}: this node's update groups and each list it keeps. */
export interface CmUpdateStatus {
  /** Its update groups. */
  readonly groups: readonly string[];
  /** "Allow to download updates from internet". */
  readonly downloadFromInternet: boolean;
  /** "Allow to download updates from other nodes". */
  readonly acceptFromNodes: boolean;
  /** When the last interval check ran (ISO 8601). */
  readonly lastCheck: string | null;
  /** When the next is due (null when automatic updates are off). */
  readonly nextCheck: string | null;
  /** Each update source. */
  readonly lists: readonly CmUpdateListStatus[];
  /** The members of its update groups it knows (neighbours first). */
  readonly members: readonly {
    /** The member's name. */
    readonly name: string;
    /** Connected directly. */
    readonly direct: boolean;
    /** It accepts updates from other nodes. */
    readonly accept: boolean;
  }[];
}

/** Timings of the update machine (tests shorten them). */
export interface UpdateTimings {
  /** The first interval check, ms after start (default 5000). */
  readonly firstCheckMs?: number;
  /** How long a check collects the members' reports, ms (default 2000). */
  readonly collectMs?: number;
  /** After a failure, wait this long before trying the same source again, ms (default 60 000). */
  readonly retryMs?: number;
}

/** What the update agent needs from its node (internal). */
export interface UpdateAgentOptions {
  readonly dataDir: string;
  readonly self: { readonly uuid: string; readonly name: string };
  readonly groups: readonly string[];
  readonly config: CmUpdatesConfig;
  /** Sends one update message to a peer; resolves when it is written (flow control), rejects when it cannot be. */
  readonly send: (peer: string, message: UpdateMessage) => Promise<void>;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly run?: CommandRunner | undefined;
  readonly timings?: UpdateTimings | undefined;
}

/** Chunk size of transfers between members (raw bytes; a frame carries its base64, far under the limit). */
const CHUNK_BYTES = 256 * 1024;
/** A transfer from a member that delivers nothing for this long is given up (kept for a resume). */
const TRANSFER_IDLE_MS = 60_000;
/** HTTP attempts per download (each resumes where the previous one stopped). */
const HTTP_ATTEMPTS = 4;
/** HTTP socket idle timeout. */
const HTTP_IDLE_MS = 30_000;
const MANIFEST_MAX_BYTES = 64 * 1024;
const SIGNATURE_MAX_BYTES = 1024;

interface Fetching {
  key: UpdateListVersion;
  from: string;
  offset: number;
  chain: Promise<void>;
  timer: TimerHandle | undefined;
  done: boolean;
}

interface StoredMeta {
  list: string;
  version: string;
  sha256: string;
  size: number;
  from: string;
  at: number;
  proof?: UpdateProof | undefined;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Writes a file atomically: a temporary file in the same directory, then a rename. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** One HTTP(S) GET, following up to 5 redirects; the response is the caller's to read. */
function request(url: string, headers: Record<string, string>, redirects = 5): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const get = u.protocol === 'https:' ? httpsGet : httpGet;
    const req = get(u, { headers: { 'user-agent': 'proxyha-cm', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && redirects > 0) {
        res.resume();
        request(new URL(res.headers.location, u).toString(), headers, redirects - 1).then(resolve, reject);
        return;
      }
      res.setTimeout?.(HTTP_IDLE_MS, () => res.destroy(new Error(`no data for ${HTTP_IDLE_MS} ms`)));
      resolve(res);
    });
    req.setTimeout(HTTP_IDLE_MS, () => req.destroy(new Error(`no answer for ${HTTP_IDLE_MS} ms`)));
    req.on('error', reject);
  });
}

/** GETs a small document (manifest, signature). */
async function getSmall(url: string, max: number): Promise<Buffer> {
  const res = await request(url, {});
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`HTTP ${res.statusCode} from ${url}`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > max) {
      res.destroy();
      throw new Error(`${url} is larger than ${max} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Checks a signed manifest with the source's key: the Ed25519 signature of its exact bytes, then its fields.
 *
 * @returns the version it names and where its file is
 */
function checkManifest(
  source: UpdateSourceConfig,
  proof: UpdateProof,
): Result<{ key: UpdateListVersion; url: string | undefined }, string> {
  const key = ed25519PublicKey(source.publicKey ?? '');
  if (!key) return err('no Ed25519 public key configured');
  const manifest = Buffer.from(proof.manifest, 'base64');
  const signature = Buffer.from(proof.signature, 'base64');
  let good = false;
  try {
    good = signature.length === 64 && verifySignature(null, manifest, key, signature);
  } catch {
    good = false;
  }
  if (!good) return err("the manifest's Ed25519 signature does not verify with publicKey");
  let doc: { version?: unknown; sha256?: unknown; size?: unknown; url?: unknown };
  try {
    doc = JSON.parse(manifest.toString('utf8')) as typeof doc;
  } catch (e) {
    return err(`the manifest is not JSON: ${(e as Error).message}`);
  }
  const k = checkUpdateKey({
    list: source.name,
    version: doc?.version,
    sha256: doc?.sha256,
    size: doc?.size,
  });
  if (!k.ok) return err(`manifest ${k.error.replace(/^list/, 'name')}`);
  let url: string | undefined;
  if (doc.url !== undefined) {
    try {
      const u = new URL(String(doc.url), source.manifest);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      url = u.toString();
    } catch {
      return err(`manifest url: must be an http(s) URL (got ${JSON.stringify(doc.url)})`);
    }
  }
  return ok({ key: k.value, url });
}

/** The file name of a version (versions are checked: letters, digits and `.+:~-_`). */
const fileOf = (version: string) => `v-${version}`;

/**
 * Binds an {@link UpdateMachine} to the internet, the disk and the member connections (internal: CmNode
 * owns one).
 */
export class UpdateAgent {
  readonly #o: UpdateAgentOptions;
  readonly #sources: Map<string, UpdateSourceConfig>;
  readonly #run: CommandRunner;
  #machine: UpdateMachine | undefined;
  /** The last verified manifest of each signed source: its proof and the URL of its file. */
  readonly #manifests = new Map<string, { key: UpdateListVersion; proof: UpdateProof; url: string }>();
  readonly #fetching = new Map<string, Fetching>();
  readonly #proofs = new Map<string, UpdateProof | undefined>();
  #running = false;
  #chain: Promise<void> = Promise.resolve();
  /** HTTP responses being read (destroyed at stop). */
  readonly #responses = new Set<IncomingMessage>();

  constructor(options: UpdateAgentOptions) {
    this.#o = options;
    this.#sources = new Map(options.config.sources.map((s) => [s.name, s]));
    this.#run = options.run ?? runCommand;
  }

  /** The directory of a list's files. */
  dirOf(list: string): string {
    return join(this.#o.dataDir, 'updates', list);
  }

  /** Reads what this node holds (checking every file's SHA-256) and starts the machine. */
  async start(): Promise<void> {
    const held: HeldUpdate[] = [];
    for (const s of this.#sources.values()) {
      const dir = this.dirOf(s.name);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const meta = await this.#readMeta(join(dir, 'current.json'));
      if (!meta) continue;
      const file = join(dir, fileOf(meta.version));
      const actual = await sha256File(file).catch(() => undefined);
      if (actual !== meta.sha256) {
        this.#o.logger.warn(
          `[Coordinator] [UpdateIntegrity] ${s.name} ${meta.version}: the file in ${dir} does not match its SHA-256 (${actual ?? 'missing'}); discarded, fetched again`,
        );
        await rm(join(dir, 'current.json'), { force: true });
        continue;
      }
      this.#proofs.set(`${meta.list}|${meta.sha256}`, meta.proof);
      held.push({
        list: meta.list,
        version: meta.version,
        sha256: meta.sha256,
        size: meta.size,
        from: meta.from,
        at: meta.at,
      });
    }
    const c = this.#o.config;
    this.#machine = new UpdateMachine({
      self: this.#o.self,
      groups: this.#o.groups,
      lists: [...this.#sources.keys()],
      downloadFromInternet: c.downloadFromInternet,
      acceptFromNodes: c.acceptFromNodes,
      automatic: c.automatic,
      intervalMs: c.intervalMs,
      held,
      ...this.#o.timings,
    });
    this.#running = true;
  }

  /** Stops: transfers under way are dropped (their partial files stay for a resume). */
  async stop(): Promise<void> {
    this.#running = false;
    for (const list of [...this.#fetching.keys()]) this.#endFetch(list);
    for (const res of this.#responses) res.destroy(new Error('the node stopped'));
    await this.#chain.catch(() => undefined);
  }

  /** Time passes (every second). */
  tick(): void {
    this.#step({ type: 'tick', at: this.#now() });
  }

  /** Run the interval check now. */
  checkNow(): void {
    this.#step({ type: 'check', at: this.#now() });
  }

  /** A peer connected. */
  peerUp(uuid: string, name: string): void {
    this.#step({ type: 'peerUp', at: this.#now(), peer: uuid, name });
  }

  /** A peer disconnected. */
  peerDown(uuid: string): void {
    this.#step({ type: 'peerDown', at: this.#now(), peer: uuid });
  }

  /**
   * An update message from a peer (its wire type is one of `UPDATE_MESSAGE_TYPES`; the registry checked it).
   */
  received(from: string, body: unknown): void {
    const r = checkUpdateMessage(body);
    if (!r.ok) {
      this.#o.logger.warn(`[Coordinator] update message from ${from} dropped: ${r.error.message}`);
      return;
    }
    if (r.value.type === 'update-data') this.#data(from, r.value);
    else this.#step({ type: 'received', at: this.#now(), from, message: r.value });
  }

  /** The update section of the status. */
  status(): CmUpdateStatus | undefined {
    const m = this.#machine;
    if (!m) return undefined;
    const s = m.snapshot();
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
    const nameOf = (uuid: string | undefined) => s.members.find((x) => x.uuid === uuid)?.name ?? uuid ?? '?';
    return {
      groups: s.groups,
      downloadFromInternet: this.#o.config.downloadFromInternet,
      acceptFromNodes: this.#o.config.acceptFromNodes,
      lastCheck: iso(s.lastCheckAt),
      nextCheck: iso(s.nextCheckAt),
      lists: s.lists.map((l) => ({
        name: l.list,
        version: l.held?.version ?? null,
        sha256: l.held?.sha256 ?? null,
        size: l.held?.size ?? null,
        from: l.held?.from ?? null,
        at: iso(l.held?.at),
        published: l.published?.version ?? null,
        busy: l.busy
          ? l.busy.kind === 'download'
            ? `downloading ${l.busy.key.version}`
            : `fetching ${l.busy.key.version} from ${nameOf(l.busy.from)}`
          : null,
        lastError: l.lastError ?? null,
      })),
      members: s.members.map((x) => ({ name: x.name, direct: x.direct, accept: x.accept })),
    };
  }

  /** The machine (tests, status). */
  get machine(): UpdateMachine | undefined {
    return this.#machine;
  }

  // ---- machine ------------------------------------------------------------------------------------

  #now(): number {
    return Math.floor(this.#o.clock.wallTime());
  }

  #step(event: UpdateEvent): void {
    if (!this.#running || !this.#machine) return;
    for (const a of this.#machine.step(event)) this.#act(a);
  }

  #act(a: UpdateAction): void {
    const log = this.#o.logger;
    switch (a.type) {
      case 'send':
        this.#o.send(a.to, a.message).catch(() => undefined);
        break;
      case 'log':
        if (a.level === 'warn') log.warn(a.message);
        else log.info(a.message);
        break;
      case 'checkSource':
        this.#task(async () => {
          const result = await this.#checkSource(a.list);
          this.#step({ type: 'sourceChecked', at: this.#now(), list: a.list, result });
        });
        break;
      case 'download':
        this.#task(async () => {
          let error: string | undefined;
          let key = a.key;
          try {
            key = await this.#download(a.key);
          } catch (e) {
            error = (e as Error).message;
          }
          this.#step({ type: 'downloaded', at: this.#now(), key, error });
        });
        break;
      case 'fetch':
        this.#startFetch(a.key, a.from);
        break;
      case 'cancel':
        this.#endFetch(a.list);
        break;
      case 'serve':
        this.#task(() => this.#serve(a.to, a.key, a.offset));
        break;
      case 'installed':
        this.#task(() => this.#install(a.held, a.previous));
        break;
    }
  }

  /** Runs I/O off the machine's step, never throwing out of it. */
  #task(fn: () => Promise<void>): void {
    const p = fn().catch((e: Error) => {
      this.#o.logger.error(`[Coordinator] update task failed: ${e.message}`);
    });
    this.#chain = this.#chain.then(() => p);
  }

  // ---- the internet ---------------------------------------------------------------------------------

  async #checkSource(list: string): Promise<Result<UpdateListVersion, string>> {
    const s = this.#sources.get(list);
    if (!s) return err('no such source');
    if (s.sha256 !== undefined)
      // a pinned file: its version is configured; size 0 stands for "known after the download"
      return ok({ list, version: s.version as string, sha256: s.sha256, size: 0 });
    const url = s.manifest as string;
    try {
      const [manifest, sig] = await Promise.all([
        getSmall(url, MANIFEST_MAX_BYTES),
        getSmall(`${url}.sig`, SIGNATURE_MAX_BYTES),
      ]);
      const proof = {
        manifest: manifest.toString('base64'),
        signature: sig.toString('utf8').replace(/\s+/g, ''),
      };
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(proof.signature)) throw new Error(`${url}.sig is not base64`);
      const checked = checkManifest(s, proof);
      if (!checked.ok) throw new Error(checked.error);
      this.#manifests.set(list, { key: checked.value.key, proof, url: checked.value.url ?? s.url });
      return ok(checked.value.key);
    } catch (e) {
      const error = new CmError('CM_UPDATE_MANIFEST', `${list}: manifest ${url}: ${(e as Error).message}`, {
        details: { list, url },
        stack: false,
      });
      return err(`${error.code}: ${error.message}`);
    }
  }

  /** Downloads a version with resume, verifies it and moves it into place; returns it with its real size. */
  async #download(key: UpdateListVersion): Promise<UpdateListVersion> {
    const s = this.#sources.get(key.list);
    if (!s) throw new Error('no such source');
    const signed = this.#manifests.get(key.list);
    const proof = s.sha256 === undefined ? signed?.proof : undefined;
    if (s.sha256 === undefined && (!signed || signed.key.sha256 !== key.sha256))
      throw new Error('no verified manifest names this version');
    const url = signed?.url ?? s.url;
    const dir = this.dirOf(key.list);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const partial = join(dir, `.partial-${key.sha256}`);
    const expected = key.size; // 0: unknown (a pinned file)
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < HTTP_ATTEMPTS; attempt++) {
      if (!this.#running) throw new Error('the node stopped');
      let have = await sizeOf(partial);
      if (expected > 0 && have > expected) {
        await rm(partial, { force: true });
        have = 0;
      }
      try {
        const res = await request(url, have > 0 ? { range: `bytes=${have}-` } : {});
        this.#responses.add(res);
        res.once('close', () => this.#responses.delete(res));
        const status = res.statusCode ?? 0;
        if (status === 416 && have > 0) {
          res.resume();
          if (expected === 0 || have === expected) break; // complete already
          await rm(partial, { force: true });
          throw new Error('the server refused the range');
        }
        let flags = 'w';
        if (status === 206) {
          const start = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1];
          if (Number(start) === have) flags = 'a';
          else {
            res.resume();
            await rm(partial, { force: true });
            throw new Error(`the server resumed at ${start ?? '?'} instead of ${have}`);
          }
          this.#o.logger.info(
            `[Coordinator] [UpdateDownload] ${key.list}: resuming at byte ${have} of ${url}`,
          );
        } else if (status !== 200) {
          res.resume();
          const e = new CmError('CM_UPDATE_DOWNLOAD', `${key.list}: HTTP ${status} from ${url}`, {
            details: { list: key.list, url, status },
            stack: false,
          });
          if (status >= 400 && status < 500) throw Object.assign(e, { final: true });
          throw e;
        }
        const fh = await open(partial, flags, 0o600);
        let written = flags === 'a' ? have : 0;
        try {
          for await (const chunk of res) {
            written += (chunk as Buffer).length;
            if (expected > 0 && written > expected) {
              res.destroy();
              throw Object.assign(
                new CmError(
                  'CM_UPDATE_DOWNLOAD',
                  `${key.list}: ${url} is larger than announced (${expected} bytes)`,
                  {
                    details: { list: key.list, url, size: expected },
                    stack: false,
                  },
                ),
                { final: true },
              );
            }
            await fh.write(chunk as Buffer);
          }
          await fh.sync();
        } finally {
          await fh.close();
        }
        lastError = undefined;
        break;
      } catch (e) {
        lastError = e as Error;
        if ((e as { final?: boolean }).final) break;
        const got = await sizeOf(partial);
        this.#o.logger.warn(
          `[Coordinator] [UpdateDownload] ${key.list}: ${url} cut after ${got} bytes (${(e as Error).message}); resuming`,
        );
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
    if (lastError) {
      const e =
        lastError instanceof CmError
          ? lastError
          : new CmError('CM_UPDATE_DOWNLOAD', `${key.list}: ${url}: ${lastError.message}`, {
              details: { list: key.list, url, bytes: await sizeOf(partial) },
              stack: false,
            });
      throw new Error(`${e.code}: ${e.message}`);
    }
    return this.#verifyAndKeep(key, partial, 'internet', proof);
  }

  /** Checks a complete file against its key (and the pinned SHA-256); moves it into place, or discards it. */
  async #verifyAndKeep(
    key: UpdateListVersion,
    partial: string,
    from: string,
    proof: UpdateProof | undefined,
  ): Promise<UpdateListVersion> {
    const s = this.#sources.get(key.list) as UpdateSourceConfig;
    const size = await sizeOf(partial);
    const actual = await sha256File(partial);
    const wanted = s.sha256 ?? key.sha256;
    let problem: string | undefined;
    if (actual !== key.sha256 || actual !== wanted)
      problem = `SHA-256 ${actual}, expected ${wanted === key.sha256 ? wanted : `${key.sha256} (pinned ${wanted})`}`;
    else if (key.size > 0 && size !== key.size) problem = `${size} bytes, expected ${key.size}`;
    else if (s.sha256 === undefined) {
      const m = proof ? checkManifest(s, proof) : err('no signed manifest came with it');
      if (!m.ok) problem = m.error;
      else if (m.value.key.sha256 !== key.sha256 || m.value.key.version !== key.version)
        problem = `the signed manifest names ${m.value.key.version} (${m.value.key.sha256.slice(0, 12)})`;
    }
    if (problem) {
      await rm(partial, { force: true });
      const e = new CmError(
        'CM_UPDATE_INTEGRITY',
        `${key.list} ${key.version} from ${from}: ${problem}; the file is discarded`,
        { details: { list: key.list, version: key.version, expected: wanted, actual, size }, stack: false },
      );
      this.#o.logger.error(`[Coordinator] [UpdateIntegrity] ${e.message}`);
      throw new Error(`${e.code}: ${e.message}`);
    }
    const dir = this.dirOf(key.list);
    await rename(partial, join(dir, fileOf(key.version)));
    this.#proofs.set(`${key.list}|${key.sha256}`, proof);
    return { ...key, size };
  }

  // ---- members ------------------------------------------------------------------------------------

  #startFetch(key: UpdateListVersion, from: string): void {
    this.#endFetch(key.list);
    const s = this.#sources.get(key.list);
    const fail = (error: string) =>
      queueMicrotask(() => this.#step({ type: 'fetched', at: this.#now(), key, from, error }));
    if (!s) {
      fail('no such source');
      return;
    }
    if (s.sha256 !== undefined && s.sha256 !== key.sha256) {
      fail(`CM_UPDATE_INTEGRITY: ${key.list} ${key.version} is not the pinned SHA-256 ${s.sha256}`);
      return;
    }
    const f: Fetching = { key, from, offset: 0, chain: Promise.resolve(), timer: undefined, done: false };
    this.#fetching.set(key.list, f);
    f.chain = (async () => {
      const dir = this.dirOf(key.list);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const partial = join(dir, `.partial-${key.sha256}`);
      let have = await sizeOf(partial);
      if (have > key.size) {
        await rm(partial, { force: true });
        have = 0;
      }
      f.offset = have;
      this.#idle(f);
      await this.#o.send(from, {
        type: 'update-get',
        list: key.list,
        version: key.version,
        sha256: key.sha256,
        offset: have,
      });
    })().catch((e: Error) => this.#fetchFailed(f, `CM_UPDATE_TRANSFER: ${e.message}`));
  }

  #idle(f: Fetching): void {
    if (f.timer) this.#o.clock.clearTimeout(f.timer);
    f.timer = this.#o.clock.setTimeout(
      () => this.#fetchFailed(f, `CM_UPDATE_TRANSFER: nothing from the member for ${TRANSFER_IDLE_MS} ms`),
      TRANSFER_IDLE_MS,
    );
  }

  #endFetch(list: string): void {
    const f = this.#fetching.get(list);
    if (!f) return;
    f.done = true;
    if (f.timer) this.#o.clock.clearTimeout(f.timer);
    this.#fetching.delete(list);
  }

  #fetchFailed(f: Fetching, error: string): void {
    if (f.done) return;
    this.#endFetch(f.key.list);
    this.#step({ type: 'fetched', at: this.#now(), key: f.key, from: f.from, error });
  }

  /** A chunk from a member: appended in order; the last one completes the file. */
  #data(from: string, m: UpdateDataMessage): void {
    const f = this.#fetching.get(m.list);
    if (!f || f.from !== from || f.key.sha256 !== m.sha256 || f.key.version !== m.version) return; // not asked for
    f.chain = f.chain.then(async () => {
      if (f.done) return;
      const bytes = Buffer.from(m.data, 'base64');
      if (m.offset !== f.offset || m.size !== f.key.size || m.offset + bytes.length > m.size) {
        this.#fetchFailed(
          f,
          `CM_UPDATE_TRANSFER: chunk at ${m.offset} (${bytes.length} bytes of ${m.size}), expected ${f.offset} of ${f.key.size}`,
        );
        return;
      }
      this.#idle(f);
      const partial = join(this.dirOf(m.list), `.partial-${m.sha256}`);
      const fh = await open(partial, f.offset === 0 ? 'w' : 'a', 0o600);
      try {
        await fh.write(bytes);
        if (m.offset + bytes.length === m.size) await fh.sync();
      } finally {
        await fh.close();
      }
      f.offset += bytes.length;
      if (f.offset < m.size) return;
      this.#endFetch(m.list);
      let error: string | undefined;
      try {
        await this.#verifyAndKeep(f.key, partial, this.#nameOf(from), m.proof);
      } catch (e) {
        error = (e as Error).message;
      }
      this.#step({ type: 'fetched', at: this.#now(), key: f.key, from, error });
    });
    f.chain.catch((e: Error) => this.#fetchFailed(f, `CM_UPDATE_TRANSFER: ${e.message}`));
  }

  #nameOf(uuid: string): string {
    return this.#machine?.snapshot().members.find((m) => m.uuid === uuid)?.name ?? uuid;
  }

  /** Sends a held file to a member in chunks, each written before the next is read. */
  async #serve(to: string, key: UpdateListVersion, offset: number): Promise<void> {
    const file = join(this.dirOf(key.list), fileOf(key.version));
    const proof = this.#proofs.get(`${key.list}|${key.sha256}`);
    const fh = await open(file, 'r');
    try {
      let at = offset;
      do {
        const n = Math.min(CHUNK_BYTES, key.size - at);
        const buf = Buffer.alloc(n);
        const { bytesRead } = n > 0 ? await fh.read(buf, 0, n, at) : { bytesRead: 0 };
        if (bytesRead !== n) throw new Error(`${file} is shorter than ${key.size} bytes`);
        const last = at + n >= key.size;
        if (!this.#running) return;
        await this.#o.send(to, {
          type: 'update-data',
          list: key.list,
          version: key.version,
          sha256: key.sha256,
          size: key.size,
          offset: at,
          data: buf.toString('base64'),
          ...(last && proof ? { proof } : {}),
        });
        at += n;
      } while (at < key.size);
    } catch (e) {
      this.#o.logger.warn(
        `[Coordinator] [UpdateTransfer] ${key.list} ${key.version} to ${this.#nameOf(to)} stopped: ${(e as Error).message}`,
      );
    } finally {
      await fh.close();
    }
  }

  // ---- in place -----------------------------------------------------------------------------------

  async #install(held: HeldUpdate, previous: HeldUpdate | undefined): Promise<void> {
    const dir = this.dirOf(held.list);
    const meta: StoredMeta = { ...held, proof: this.#proofs.get(`${held.list}|${held.sha256}`) };
    await writeAtomic(join(dir, 'current.json'), `${JSON.stringify(meta, null, 2)}\n`);
    // keep the current file and the one before it; the partial of this version is gone (renamed), those of
    // others stay (a newer one may be on its way already)
    const keep = new Set([fileOf(held.version), ...(previous ? [fileOf(previous.version)] : [])]);
    for (const name of await readdir(dir))
      if (name.startsWith('v-') && !keep.has(name) && !name.endsWith('.applied'))
        await rm(join(dir, name), { force: true });
    const s = this.#sources.get(held.list);
    if (!s?.apply) return;
    const file = join(dir, fileOf(held.version));
    const [program, ...args] = s.apply as [string, ...string[]];
    const r = await this.#run(program, [...args, file], { timeoutMs: 300_000 });
    if (r.code !== 0) {
      const e = new CmError(
        'CM_UPDATE_APPLY',
        `${held.list} ${held.version}: ${s.apply.join(' ')} failed (${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}): ${r.stderr.trim().slice(0, 500)}`,
        { details: { list: held.list, code: r.code, stderr: r.stderr }, stack: false },
      );
      this.#o.logger.error(`[Coordinator] [UpdateApplyFailed] ${e.message}`);
    } else
      this.#o.logger.info(`[Coordinator] [UpdateApplied] ${held.list} ${held.version}: ${s.apply.join(' ')}`);
  }

  async #readMeta(path: string): Promise<StoredMeta | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const m = JSON.parse(text) as StoredMeta;
      const k = checkUpdateKey({ list: m.list, version: m.version, sha256: m.sha256, size: m.size });
      if (!k.ok || typeof m.from !== 'string' || typeof m.at !== 'number')
        throw new Error(k.ok ? 'from/at' : k.error);
      return m;
    } catch (e) {
      this.#o.logger.warn(`[Coordinator] ${path} is not readable (${(e as Error).message}): fetched again`);
      return undefined;
    }
  }
}
