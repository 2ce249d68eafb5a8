/**
 * What a pool worker can do: hold models and run study jobs (src/study/executor.ts) on them. Each
 * worker owns its own tfjs backend and WASM kernels; models reach it once as their serialized form
 * (model.json + weights, plus alpha/beta) and are then named by key.
 */
import { decodeModel, type ModelJson } from '../model/format.js';
import type { ResNetModel } from '../model/model.js';
import { runStudyJob, type StudyJob, type StudyJobResult } from '../study/executor.js';

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
  run<J extends StudyJob>(key: string, job: J): Promise<StudyJobResult<J>> {
    return runStudyJob(model(key), job);
  },
};

export type WorkerApi = typeof workerApi;
