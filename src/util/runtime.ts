/** Where we are running: Node has a file system; browsers and edge runtimes only have fetch. */
export const isNode: boolean = typeof process !== 'undefined' && !!process.versions?.node;

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
