// A deterministic simulation of update groups for the tests: real UpdateMachines on a virtual clock, linked
// when they share a network group (as the CM connections are), with a modelled driver: a source check answers
// with the published version, a download takes 50 ms, a fetch sends update-get to the holder, whose serve
// arrives as the file (one message) and completes the fetch. Every delivered message is recorded.
import { createPrng, EventQueue } from '@proxyha/common';
import {
  type UpdateAction,
  type UpdateEvent,
  type UpdateListVersion,
  UpdateMachine,
  type UpdateMessage,
} from '../src/index';

export interface SimUpdateNode {
  readonly name: string;
  readonly network: readonly string[];
  readonly update: readonly string[];
  readonly download?: boolean;
  readonly accept?: boolean;
  readonly held?: readonly UpdateListVersion[];
}

export interface Delivery {
  readonly at: number;
  readonly from: string;
  readonly to: string;
  readonly message: UpdateMessage | { readonly type: 'file'; readonly key: UpdateListVersion };
}

interface Node {
  spec: SimUpdateNode;
  uuid: string;
  machine: UpdateMachine;
  online: boolean;
}

export const uuidOf = (i: number) => `00000000-0000-4000-8000-${(i + 1).toString(16).padStart(12, '0')}`;

export class UpdateSim {
  readonly queue = new EventQueue();
  readonly nodes = new Map<string, Node>();
  readonly byUuid = new Map<string, Node>();
  readonly deliveries: Delivery[] = [];
  readonly downloads: { node: string; key: UpdateListVersion; at: number }[] = [];
  readonly installs: { node: string; key: UpdateListVersion; from: string; at: number }[] = [];
  readonly published = new Map<string, UpdateListVersion>();
  now = 0;
  readonly #rand: () => number;

  constructor(
    specs: readonly SimUpdateNode[],
    options: { seed?: number; intervalMs?: number; lists?: readonly string[] } = {},
  ) {
    this.#rand = createPrng(options.seed ?? 1);
    specs.forEach((spec, i) => {
      const uuid = uuidOf(i);
      const machine = new UpdateMachine({
        self: { uuid, name: spec.name },
        groups: spec.update,
        lists: options.lists ?? ['urlfilter'],
        downloadFromInternet: spec.download ?? false,
        acceptFromNodes: spec.accept ?? true,
        intervalMs: options.intervalMs ?? 900_000,
        held: (spec.held ?? []).map((k) => ({ ...k, from: 'internet', at: 0 })),
        firstCheckMs: 5000,
        collectMs: 2000,
        retryMs: 60_000,
      });
      const n = { spec, uuid, machine, online: true };
      this.nodes.set(spec.name, n);
      this.byUuid.set(uuid, n);
    });
  }

  linked(a: Node, b: Node): boolean {
    return a !== b && a.online && b.online && a.spec.network.some((g) => b.spec.network.includes(g));
  }

  /** Starts every node (its first event) and brings every link up. */
  start(): void {
    for (const n of this.nodes.values()) this.#step(n, { type: 'tick', at: 0 });
    for (const n of this.nodes.values()) this.#linksUp(n);
    for (const n of this.nodes.values()) this.#scheduleTick(n, 1000);
  }

  #linksUp(n: Node): void {
    for (const m of this.nodes.values())
      if (this.linked(n, m)) {
        this.#step(n, { type: 'peerUp', at: this.now, peer: m.uuid, name: m.spec.name });
        this.#step(m, { type: 'peerUp', at: this.now, peer: n.uuid, name: n.spec.name });
      }
  }

  #scheduleTick(n: Node, at: number): void {
    this.queue.push(at, () => {
      if (n.online) this.#step(n, { type: 'tick', at });
      this.#scheduleTick(n, at + 1000);
    });
  }

  /** Takes a node off the network (its links go down) or brings it back (a restart keeps what it holds). */
  setOnline(name: string, online: boolean): void {
    const n = this.nodes.get(name) as Node;
    if (n.online === online) return;
    if (!online) {
      for (const m of this.nodes.values())
        if (this.linked(n, m)) this.#step(m, { type: 'peerDown', at: this.now, peer: n.uuid });
      n.online = false;
      return;
    }
    // a restart: a new machine with what it holds
    const held = [...n.machine.snapshot().lists].flatMap((l) => (l.held ? [l.held] : []));
    n.machine = new UpdateMachine({
      self: { uuid: n.uuid, name: n.spec.name },
      groups: n.spec.update,
      lists: n.machine.snapshot().lists.map((l) => l.list),
      downloadFromInternet: n.spec.download ?? false,
      acceptFromNodes: n.spec.accept ?? true,
      intervalMs: 900_000,
      held,
      firstCheckMs: 5000,
      collectMs: 2000,
    });
    n.online = true;
    this.#step(n, { type: 'tick', at: this.now });
    this.#linksUp(n);
  }

  runUntil(t: number): void {
    for (;;) {
      const at = this.queue.peekTime();
      if (at === undefined || at > t) break;
      const e = this.queue.pop();
      this.now = Math.max(this.now, e?.at ?? this.now);
      e?.run();
    }
    this.now = t;
  }

  holds(name: string, list = 'urlfilter'): UpdateListVersion | undefined {
    return (this.nodes.get(name) as Node).machine.held(list);
  }

  #delay(): number {
    return 1 + Math.floor(this.#rand() * 5);
  }

  #deliver(from: Node, to: Node, message: Delivery['message'], then: () => void): void {
    this.queue.push(this.now + this.#delay(), () => {
      if (!this.linked(from, to)) return; // the link went down meanwhile: lost
      this.deliveries.push({ at: this.now, from: from.spec.name, to: to.spec.name, message });
      then();
    });
  }

  #step(n: Node, event: UpdateEvent): void {
    for (const a of n.machine.step(event)) this.#act(n, a);
  }

  #act(n: Node, a: UpdateAction): void {
    switch (a.type) {
      case 'send': {
        const to = this.byUuid.get(a.to);
        if (!to || !this.linked(n, to)) return;
        this.#deliver(n, to, a.message, () =>
          this.#step(to, { type: 'received', at: this.now, from: n.uuid, message: a.message }),
        );
        return;
      }
      case 'checkSource': {
        const p = this.published.get(a.list);
        this.queue.push(this.now + 10, () => {
          if (n.online)
            this.#step(n, {
              type: 'sourceChecked',
              at: this.now,
              list: a.list,
              result: p ? { ok: true, value: p } : { ok: false, error: 'no such list' },
            });
        });
        return;
      }
      case 'download':
        this.downloads.push({ node: n.spec.name, key: a.key, at: this.now });
        this.queue.push(this.now + 50, () => {
          if (n.online) this.#step(n, { type: 'downloaded', at: this.now, key: a.key });
        });
        return;
      case 'fetch': {
        const holder = this.byUuid.get(a.from);
        if (!holder || !this.linked(n, holder)) return;
        const get: UpdateMessage = {
          type: 'update-get',
          list: a.key.list,
          version: a.key.version,
          sha256: a.key.sha256,
          offset: 0,
        };
        this.#deliver(n, holder, get, () =>
          this.#step(holder, { type: 'received', at: this.now, from: n.uuid, message: get }),
        );
        return;
      }
      case 'serve': {
        const to = this.byUuid.get(a.to);
        if (!to) return;
        this.#deliver(n, to, { type: 'file', key: a.key }, () =>
          this.#step(to, { type: 'fetched', at: this.now, key: a.key, from: n.uuid }),
        );
        return;
      }
      case 'installed':
        this.installs.push({ node: n.spec.name, key: a.held, from: a.held.from, at: this.now });
        return;
      case 'cancel':
      case 'log':
        return;
    }
  }

  /** Whether a delivered message carries anything of this version (its bytes, or its id in a state or report). */
  static mentions(m: Delivery['message'], sha256: string): boolean {
    if (m.type === 'file') return m.key.sha256 === sha256;
    return JSON.stringify(m).includes(sha256);
  }
}

/** The guide's larger layout: Tokyo (toknet1, toknet2), New York (nynet1, nynet2), Paderborn. */
export function paderbornLayout(leaves = 9): SimUpdateNode[] {
  const out: SimUpdateNode[] = [];
  const site = (net: string, update: string, n: number) => {
    out.push({ name: `${net}-transit`, network: [net, 'transit'], update: [update] });
    for (let i = 1; i <= n; i++) out.push({ name: `${net}-mwg${i}`, network: [net], update: [update] });
  };
  site('toknet1', 'tokyo', leaves);
  site('toknet2', 'tokyo', leaves);
  site('nynet1', 'newyork', leaves);
  site('nynet2', 'newyork', leaves);
  site('paderborn', 'paderborn', 4);
  return out;
}
