/** A model from a state dict: recognise the network, and give the paper's family its `params` too. */
import { stateDictToResNet } from './checkpoint/resnet.js';
import { ResNetModel, type ModelInfo } from './model.js';
import { isPaperFamily } from './paper-graph.js';
import { recogniseStateDict, type RecogniseOptions } from './recognise.js';
import type { StateDict } from './types.js';

/**
 * The model a state dict describes (recognise.ts). A network of the paper's family also gets its
 * `params`, through the same checks as always, so every command handles it as before.
 */
export function modelFromStateDict(dict: StateDict, source: string, options: RecogniseOptions, info: Partial<ModelInfo>): ResNetModel {
  const { graph, weights } = recogniseStateDict(dict, source, options);
  if (isPaperFamily(graph)) return new ResNetModel(stateDictToResNet(weights, source), info);
  return new ResNetModel(graph, { ...info, weights });
}
