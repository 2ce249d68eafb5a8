/**
 * Where we are running. Node has a file system and worker_threads; browsers and edge runtimes only
 * have fetch and (in browsers) Web Workers.
 *
 * The browser and edge bundles are built with `__RESNET_STABILITY_WEB__` defined as true, so every
 * Node-only branch is removed from them even on runtimes that imitate `process` (some edge runtimes
 * do): the web bundles never try to import a Node built-in.
 */
import { InputError } from './errors.js';

declare const __RESNET_STABILITY_WEB__: boolean | undefined;

const webBuild = typeof __RESNET_STABILITY_WEB__ !== 'undefined' && __RESNET_STABILITY_WEB__;

export const isNode: boolean = !webBuild && typeof process !== 'undefined' && !!process.versions?.node;

export interface FetchLimits {
  /** Time until the response headers arrive (connecting included), in milliseconds. */
  headersMs: number;
  /** Time until the whole body has arrived, in milliseconds. */
  totalMs: number;
}

/**
 * The default limits. In Node, RESNET_STABILITY_FETCH_TIMEOUT (seconds) sets both, for slow links or
 * tests; the defaults suit the tens of megabytes a model can be.
 */
export function defaultFetchLimits(): FetchLimits {
  const seconds = isNode ? Number(process.env.RESNET_STABILITY_FETCH_TIMEOUT) : NaN;
  if (Number.isFinite(seconds) && seconds > 0) return { headersMs: 1000 * seconds, totalMs: 1000 * seconds };
  return { headersMs: 30_000, totalMs: 300_000 };
}

/** An error's message with its causes (`fetch failed: connect ECONNREFUSED 127.0.0.1:9`). */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  if (parts.length === 0) parts.push(String(error));
  return parts.join(': ');
}

/**
 * The body of `url`, at most `maxBytes` of it (refused at once when Content-Length says more, else as
 * soon as the stream passes it), within `limits`. Every failure is a one-line InputError naming `what`,
 * the URL and the cause (a timeout, the size, the HTTP status, or the network error with its reason).
 */
export async function fetchBytes(url: URL | string, what: string, maxBytes: number, limits: FetchLimits = defaultFetchLimits()): Promise<Uint8Array> {
  const fail = (reason: string): InputError => new InputError(`cannot fetch ${what} from ${url}: ${reason}`);
  const controller = new AbortController();
  let timedOut = '';
  let answered = false;
  const abortAfter = (ms: number): ReturnType<typeof setTimeout> =>
    setTimeout(() => {
      timedOut = answered ? `not complete within ${limits.totalMs / 1000} s` : `no response within ${Math.min(limits.headersMs, limits.totalMs) / 1000} s`;
      controller.abort();
    }, ms);
  const headers = abortAfter(limits.headersMs);
  const total = abortAfter(limits.totalMs);
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
      answered = true;
    } catch (err) {
      throw fail(timedOut || describe(err));
    } finally {
      clearTimeout(headers);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw fail(`HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length'));
    if (declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw fail(`Content-Length ${declared} is more than the ${maxBytes} bytes expected`);
    }
    const chunks: Uint8Array[] = [];
    let received = 0;
    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += value.length;
          if (received > maxBytes) {
            await reader.cancel().catch(() => undefined);
            throw fail(`more than the ${maxBytes} bytes expected`);
          }
          chunks.push(value);
        }
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw fail(timedOut || describe(err));
      }
    }
    const out = new Uint8Array(received);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  } finally {
    clearTimeout(total);
  }
}
