/**
 * Where we are running. Node has a file system and worker_threads; browsers and edge runtimes only
 * have fetch and (in browsers) Web Workers.
 *
 * The browser and edge bundles are built with `__RESNET_STABILITY_WEB__` defined as true, so every
 * Node-only branch is removed from them even on runtimes that imitate `process` (some edge runtimes
 * do): the web bundles never try to import a Node built-in.
 */
declare const __RESNET_STABILITY_WEB__: boolean | undefined;

const webBuild = typeof __RESNET_STABILITY_WEB__ !== 'undefined' && __RESNET_STABILITY_WEB__;

export const isNode: boolean = !webBuild && typeof process !== 'undefined' && !!process.versions?.node;

/** Fetch bytes from a URL with a one-line error naming the URL on failure. */
export async function fetchBytes(url: URL | string, what: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`cannot fetch ${what} from ${url}: ${(err as Error).message}`);
  }
  if (!response.ok) throw new Error(`cannot fetch ${what} from ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
