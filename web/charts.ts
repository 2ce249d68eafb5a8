/**
 * Drawing the page's figures: the Vega specs compiled ahead (./vega-specs.ts) run in a live Vega view
 * rendering SVG into the figure's element, which fills its container's width and follows window
 * resizes. The element carries a text alternative (role="img" + aria-label) written by the caller.
 */
import type { View as VegaView } from 'vega';
import type { FigureData, PageFigure } from '../src/web/figures.js';
import { VEGA_SPECS } from './vega-specs.js';
import { parse, View } from './vega-runtime.js';

const views = new WeakMap<HTMLElement, VegaView>();

/** Remove a figure (its view is finalized so that it stops listening to resizes). */
export function clearFigure(element: HTMLElement): void {
  views.get(element)?.finalize();
  views.delete(element);
  element.replaceChildren();
  element.removeAttribute('aria-label');
}

export async function drawFigure(element: HTMLElement, figure: PageFigure, data: FigureData, description: string): Promise<void> {
  clearFigure(element);
  const view = new View(parse(VEGA_SPECS[figure]), { renderer: 'svg', container: element, hover: false }) as VegaView;
  views.set(element, view);
  for (const [name, rows] of Object.entries(data)) view.data(name, rows);
  await view.runAsync();
  // Vega marks its container as a graphics document; the page makes it one image with a description,
  // and hides the SVG's own roles from assistive technology.
  element.setAttribute('role', 'img');
  element.removeAttribute('aria-roledescription');
  element.setAttribute('aria-label', description);
  element.querySelector('svg')?.setAttribute('aria-hidden', 'true');
}
