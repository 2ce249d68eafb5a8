/**
 * What a pool worker can do. Each worker owns its own tfjs backend and WASM kernels; models reach it
 * once as their serialized form (model.json + weights, plus alpha/beta) and are then named by key.
 */
import { predictLogits } from '../model/forward.js';
import { decodeModel, type ModelJson } from '../model/format.js';
import type { ResNetModel } from '../model/model.js';
import { runSpectrumJob, type SpectrumJobOptions } from '../study/spectrum-study.js';
import { firstOrderPropagation } from '../study/first-order.js';
import type { PerturbationOptions } from '../study/perturbations.js';
import { propagatePerturbations } from '../study/propagation.js';

export interface SerializedModel {
  json: ModelJson;
  weights: Uint8Array;
  alpha: Float64Array;
  beta: Float64Array;
}

const models = new Map<string, ResNetModel>();

function model(key: string): ResNetModel {
  const m = models.get(key);
  if (!m) throw new Error(`worker has no model "${key}" (send it with setModel first)`);
  return m;
}

export const workerApi = {
  setModel(key: string, serialized: SerializedModel): void {
    const decoded = decodeModel(serialized.json, [serialized.weights], serialized.json.name);
    models.set(key, decoded.withScaling({ alpha: serialized.alpha, beta: serialized.beta }));
  },
  async predict(key: string, pixels: Float32Array): Promise<Float32Array> {
    return predictLogits(model(key), pixels);
  },
  async propagate(key: string, pixels: Float32Array, labels: number[], ids: (number | string)[], options: PerturbationOptions, firstOrder: boolean) {
    return propagatePerturbations(model(key), pixels, labels, ids, options, firstOrder ? firstOrderPropagation : undefined);
  },
  async spectrumJob(key: string, pixels: Float32Array, unit: number, image: number | string, options: SpectrumJobOptions) {
    return runSpectrumJob(model(key), pixels, unit, image, options);
  },
};

export type WorkerApi = typeof workerApi;
