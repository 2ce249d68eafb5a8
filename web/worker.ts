/**
 * The demo page's Web Worker: every computation of the page runs here, so the page stays responsive
 * and "Cancel" can simply terminate the worker. It uses the library exactly as a user would, with the
 * WebAssembly binaries and the shipped models served from the page's own folder.
 */
import * as Comlink from 'comlink';
import { configureAssets } from '../src/web/assets.js';
import { modelCache } from '../src/model/load.js';
import type { ResNetModel } from '../src/model/model.js';
import { predictLogits } from '../src/model/forward.js';
import { unitLabel } from '../src/linearize/units.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { unitSpectrum } from '../src/study/spectrum.js';
import { unitDensity, withUnitLinearization } from '../src/study/spectrum-methods.js';
import { propagatePerturbations } from '../src/study/propagation.js';
import { firstOrderPropagation } from '../src/study/first-order.js';

configureAssets({
  kernels: new URL('./resnet-stability.wasm', import.meta.url),
  tfjsWasm: new URL('./', import.meta.url).href,
  models: new URL('./models/', import.meta.url),
});

/** Each shipped model is fetched once per worker. */
const model = modelCache();

export const demoApi = {
  /** Unit labels ("1.1" ... "3.9") and the stage of each unit. */
  async units(name: string): Promise<{ label: string; stage: number }[]> {
    const m = await model(name);
    return Array.from({ length: m.unitCount }, (_, u) => {
      const label = unitLabel(m, u);
      return { label, stage: Number(label.split('.')[0]) };
    });
  },

  /** Class probabilities (softmax of the float32 tfjs-wasm forward pass). */
  async predict(name: string, pixels: Float32Array): Promise<{ classes: string[]; probabilities: number[] }> {
    const m = await model(name);
    const logits = Array.from(await predictLogits(m, pixels));
    const top = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - top));
    const sum = e.reduce((a, b) => a + b, 0);
    return { classes: [...m.classes], probabilities: e.map((v) => v / sum) };
  },

  async topSpectrum(name: string, pixels: Float32Array, unit: number, k: number) {
    return unitTopSpectrum({ model: await model(name), pixels, unit, k });
  },

  /** All singular values, descending (for stage-3 units: 4096 x 4096, a few seconds). */
  async fullSpectrum(name: string, pixels: Float32Array, unit: number): Promise<{ values: Float64Array; shape: [number, number]; seconds: number }> {
    const s = await unitSpectrum(await model(name), pixels, unit);
    return Comlink.transfer({ values: s.values, shape: s.shape, seconds: s.seconds }, [s.values.buffer]);
  },

  /** Histogram of the singular values by stochastic Lanczos quadrature over bins of width `binWidth`. */
  async density(name: string, pixels: Float32Array, unit: number, binWidth: number, bins: number) {
    const started = performance.now();
    // bin i covers [(i - 1/2) w, (i + 1/2) w), as in the report's histograms
    const edges = Array.from({ length: bins + 1 }, (_, i) => (i - 0.5) * binWidth);
    return withUnitLinearization(await model(name), pixels, unit, {}, async (operator, point) => ({
      ...(await unitDensity(operator, edges, 0)),
      shape: point.shape,
      seconds: (performance.now() - started) / 1000,
    }));
  },

  /** FGSM and a random (Gaussian) perturbation of the same L2 size, followed unit by unit. */
  async propagate(name: string, pixels: Float32Array, label: number, eps: number) {
    const m = await model(name);
    const run = (attack: 'fgsm' | 'gaussian') =>
      propagatePerturbations(m, pixels, [label], [0], { attack, eps, seed: 0 }, firstOrderPropagation).then((r) => r[0]);
    return { units: m.unitCount, fgsm: await run('fgsm'), gaussian: await run('gaussian') };
  },
};

export type DemoApi = typeof demoApi;

Comlink.expose(demoApi);
