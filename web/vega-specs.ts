/**
 * The page's figures compiled from Vega-Lite to Vega. scripts/build.mjs runs this module in Node and
 * puts its result into the page bundle in its place, so the page ships only the Vega runtime, never
 * the Vega-Lite compiler.
 */
import { compile } from 'vega-lite';
import type { Spec } from 'vega';
import { PAGE_FIGURES, type PageFigure } from '../src/web/figures.js';

export const VEGA_SPECS = Object.fromEntries(
  Object.entries(PAGE_FIGURES).map(([name, spec]) => [name, compile(spec).spec]),
) as unknown as Record<PageFigure, Spec>;
