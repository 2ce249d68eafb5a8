/**
 * Rendering Vega-Lite specs to standalone SVG text, in Node or a browser, without network access:
 * `vega-lite` compiles the spec to Vega, `vega` runs it headless (renderer 'none') and serializes the
 * scene graph to SVG. Specs must carry their data inline (`data.values`); the loader refuses any URL,
 * so a spec can never make the report depend on something fetched at view time.
 */
import type * as Vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

/** A loader that refuses every load and sanitize: figures have inline data only. */
function offlineLoader(vega: typeof Vega): Vega.Loader {
  const loader = vega.loader();
  const refuse = async (uri: string): Promise<never> => {
    throw new Error(`report figures take inline data only (asked to load ${uri})`);
  };
  loader.load = refuse as unknown as Vega.Loader['load'];
  loader.sanitize = refuse as unknown as Vega.Loader['sanitize'];
  return loader;
}

/**
 * The SVG text of a Vega-Lite spec. `idPrefix` is put before every id the SVG defines (clip paths,
 * gradients) and every reference to one, so that several SVGs inlined in one page cannot collide.
 */
export async function renderSvg(spec: TopLevelSpec, idPrefix = ''): Promise<string> {
  // Imported on first use: vega and vega-lite take longer to load than commands without figures should wait.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: offlineLoader(vega) });
  try {
    const svg = await view.toSVG();
    if (!idPrefix) return svg;
    return svg
      .replace(/ id="([^"]+)"/g, (_, id) => ` id="${idPrefix}${id}"`)
      .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${idPrefix}${id})`)
      .replace(/href="#([^"]+)"/g, (_, id) => `href="#${idPrefix}${id}"`);
  } finally {
    view.finalize();
  }
}
