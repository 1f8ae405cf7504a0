// A small HTTP(S) client for the management server's tests, over real sockets: one request with its
// whole answer, and a server-sent-events reader that keeps every event and comment in arrival order.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** One answer. */
export interface HttpAnswer {
  /** Status code. */
  readonly status: number;
  /** Headers (lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /** The body as text. */
  readonly body: string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
}

/** Options of {@link request}. */
export interface RequestOptions {
  /** Method; default GET. */
  readonly method?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** More headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body (sets the content type). */
  readonly json?: unknown;
  /** A raw body. */
  readonly body?: string | Buffer;
  /** HTTPS: the CA to trust. */
  readonly ca?: string;
}

function send(url: string, o: RequestOptions): { req: ReturnType<typeof httpRequest>; body?: Buffer } {
  const u = new URL(url);
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  let body: Buffer | undefined;
  if (o.json !== undefined) {
    body = Buffer.from(JSON.stringify(o.json));
    headers['content-type'] ??= 'application/json';
  } else if (o.body !== undefined) body = Buffer.from(o.body);
  if (body !== undefined) headers['content-length'] = String(body.length);
  const options = { method: o.method ?? 'GET', headers, agent: false as const };
  const req =
    u.protocol === 'https:'
      ? httpsRequest(u, { ...options, ...(o.ca ? { ca: o.ca } : {}) })
      : httpRequest(u, options);
  return body === undefined ? { req } : { req, body };
}

/** Sends one request and reads the whole answer. */
export function request(url: string, o: RequestOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const { req, body } = send(url, o);
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json: <T>() => JSON.parse(text) as T,
        });
      });
    });
    req.end(body);
  });
}

/** One item of an event stream: an event (its name and data) or a comment line. */
export type StreamItem =
  | { readonly kind: 'event'; readonly event: string; readonly data: string }
  | { readonly kind: 'comment'; readonly text: string };

/** A server-sent-events stream being read. */
export interface EventReader {
  /** Status and headers of the answer. */
  readonly response: Promise<IncomingMessage>;
  /** Everything received so far, in order. */
  readonly items: StreamItem[];
  /** Resolves once `count` items have arrived (rejects when the stream ends first). */
  waitForItems(count: number): Promise<StreamItem[]>;
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  /** Closes the connection from the client side. */
  close(): void;
}

/** Opens `GET url` and parses the answer as server-sent events. */
export function openEvents(url: string, o: RequestOptions = {}): EventReader {
  const { req } = send(url, o);
  const items: StreamItem[] = [];
  const waiters: { count: number; resolve: (v: StreamItem[]) => void; reject: (e: Error) => void }[] = [];
  let done = false;
  let buffer = '';
  let endResolve: () => void = () => {};
  const ended = new Promise<void>((r) => {
    endResolve = r;
  });
  const check = () => {
    for (const w of [...waiters]) {
      if (items.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(items.slice());
      } else if (done) {
        waiters.splice(waiters.indexOf(w), 1);
        w.reject(new Error(`the stream ended after ${items.length} items, waiting for ${w.count}`));
      }
    }
  };
  const finish = () => {
    done = true;
    endResolve();
    check();
  };
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('error', (e) => {
      finish();
      reject(e);
    });
    req.on('response', (res) => {
      resolve(res);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) items.push({ kind: 'comment', text: line.slice(1).trim() });
            else if (line.startsWith('event:')) {
              event = line.slice(6).trim();
              isEvent = true;
            } else if (line.startsWith('data:')) {
              data.push(line.slice(5).replace(/^ /, ''));
              isEvent = true;
            }
          }
          if (isEvent) items.push({ kind: 'event', event, data: data.join('\n') });
        }
        check();
      });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
  });
  response.catch(() => {});
  req.end();
  return {
    response,
    items,
    ended,
    waitForItems(count) {
      return new Promise((resolve, reject) => {
        waiters.push({ count, resolve, reject });
        check();
      });
    },
    close() {
      req.destroy();
    },
  };
}
