/**
 * The demo page's Web Worker: every computation of the page runs here (and tfjs only here), so the page
 * stays responsive and "Cancel" can simply terminate the worker. Models arrive as file bytes the page
 * keeps (shipped models) or as the files picked from disk, which the page keeps too, so a fresh worker
 * after Cancel decodes them again without any download. It uses the library exactly as a user would.
 */
import * as Comlink from 'comlink';
import { configureAssets } from '../src/web/assets.js';
import { initBackend } from '../src/model/backend.js';
import { loadKernels } from '../src/wasm/kernels.js';
import type { ResNetModel } from '../src/model/model.js';
import { predictLogits } from '../src/model/forward.js';
import { unitLabel } from '../src/linearize/units.js';
import { modelFromFiles, readModelFiles, type ChosenFile, type PickedFile } from '../src/web/model-files.js';
import { unitTopSpectrum } from '../src/web/unit-top-spectrum.js';
import { unitSpectrum } from '../src/study/spectrum.js';
import { unitDensity, withUnitLinearization } from '../src/study/spectrum-methods.js';
import { propagatePerturbations } from '../src/study/propagation.js';
import { perturbImages } from '../src/study/perturbations.js';
import { firstOrderPropagation } from '../src/study/first-order.js';

configureAssets({
  kernels: new URL('./resnet-stability.wasm', import.meta.url),
  tfjsWasm: new URL('./', import.meta.url).href,
});

const files = new Map<string, ChosenFile[]>();
const models = new Map<string, Promise<ResNetModel>>();

function model(key: string): Promise<ResNetModel> {
  let loading = models.get(key);
  if (!loading) {
    const chosen = files.get(key);
    if (!chosen) throw new Error(`model ${key} was not registered with the worker`);
    loading = Promise.resolve().then(() => modelFromFiles(chosen));
    models.set(key, loading);
    loading.catch(() => models.delete(key));
  }
  return loading;
}

function softmax(logits: ArrayLike<number>): number[] {
  const values = Array.from(logits);
  const top = Math.max(...values);
  const e = values.map((l) => Math.exp(l - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export interface ModelDescription {
  name: string;
  /** What the package recognised: the family (cifar-resnet, preact-resnet, wide-resnet, torchvision-resnet). */
  family: string;
  classes: string[];
  /** Unit labels ("1.1" ... "3.9", or "4.2" for four stages) in network order, with the stage of each. */
  units: { label: string; stage: number }[];
  /** [3, H, W] of an input image: the page resizes its 32x32 images to H x W. */
  inputShape: [number, number, number];
}

export const demoApi = {
  /**
   * Hand the worker a model under `key`: its files' bytes (a shipped model the page fetched), or files
   * picked from disk, which are read here with the size limits of readModelFiles. Nothing is decoded
   * until the model is used.
   */
  async register(key: string, source: { files: ChosenFile[] } | { picked: PickedFile[] }): Promise<void> {
    files.set(key, 'files' in source ? source.files : await readModelFiles(source.picked));
    models.delete(key);
  },

  /**
   * Start both WebAssembly runtimes (tfjs' backend and our kernels) while the visitor is still choosing,
   * so that the first Compute does not wait for them.
   */
  async warmUp(): Promise<void> {
    await Promise.all([initBackend(), loadKernels()]);
  },

  async describe(key: string): Promise<ModelDescription> {
    const m = await model(key);
    const units = Array.from({ length: m.unitCount }, (_, u) => {
      const label = unitLabel(m, u);
      return { label, stage: Number(label.split('.')[0]) };
    });
    return { name: m.name, family: m.graph.description.family, classes: [...m.classes], units, inputShape: [...m.inputShape] };
  },

  /** Class probabilities (softmax of the float32 tfjs-wasm forward pass). */
  async predict(key: string, pixels: Float32Array): Promise<number[]> {
    return softmax(await predictLogits(await model(key), pixels));
  },

  async topSpectrum(key: string, pixels: Float32Array, unit: number, k: number) {
    return unitTopSpectrum({ model: await model(key), pixels, unit, k });
  },

  /**
   * All singular values, descending (stage-3 units of the CIFAR ResNets: 4096 x 4096, a few seconds);
   * the paper's family by its unit kernels, any other by the general linearization.
   */
  async fullSpectrum(key: string, pixels: Float32Array, unit: number): Promise<{ values: Float64Array; seconds: number }> {
    const s = await unitSpectrum(await model(key), pixels, unit);
    return Comlink.transfer({ values: s.values, seconds: s.seconds }, [s.values.buffer]);
  },

  /** Counts of the singular values in the bins of `edges`, by stochastic Lanczos quadrature. */
  async density(key: string, pixels: Float32Array, unit: number, edges: number[]): Promise<{ counts: number[]; seconds: number }> {
    const started = performance.now();
    return withUnitLinearization(await model(key), pixels, unit, {}, async (operator) => ({
      counts: (await unitDensity(operator, edges, 0)).counts,
      seconds: (performance.now() - started) / 1000,
    }));
  },

  /**
   * FGSM and a random (Gaussian) perturbation of the same L2 size, followed unit by unit, and the class
   * probabilities of both perturbed images (the same seeded perturbations as the propagation).
   */
  async propagate(key: string, pixels: Float32Array, label: number, eps: number) {
    const m = await model(key);
    // The propagation (src/study) reads the paper family's parameters: for any other family this throws
    // its one-line UsageError now, before a pass that could fail on the image size with a less clear one.
    // The page then shows the spectrum and that line.
    void m.params;
    const run = async (attack: 'fgsm' | 'gaussian') => {
      const options = { attack, eps, seed: 0 } as const;
      const [result] = await propagatePerturbations(m, pixels, [label], [0], options, firstOrderPropagation);
      const perturbed = await perturbImages(m, pixels, [label], options, [0]);
      return { ...result, probabilities: softmax(await predictLogits(m, perturbed)) };
    };
    return { fgsm: await run('fgsm'), gaussian: await run('gaussian') };
  },
};

export type DemoApi = typeof demoApi;

Comlink.expose(demoApi);
