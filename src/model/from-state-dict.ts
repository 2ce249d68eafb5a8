/**
 * A model from a weights file or state dict: read the file (PyTorch checkpoint or safetensors, told
 * apart by content), recognise the network, and give the paper's family its `params` too. No Node
 * APIs: browsers and edge runtimes import from here.
 */
import { stateDictToResNet } from './checkpoint/resnet.js';
import { readStateDict } from './checkpoint/torch.js';
import { ResNetModel, type ModelInfo } from './model.js';
import { isPaperFamily } from './paper-graph.js';
import { recogniseStateDict, type RecogniseOptions } from './recognise.js';
import { isSafetensors, readSafetensors } from './safetensors.js';
import type { StateDict } from './types.js';

/** The state dict in a PyTorch checkpoint (zip or legacy) or a .safetensors file. */
export function readWeightsFile(bytes: Uint8Array, source: string): StateDict {
  return isSafetensors(bytes) ? readSafetensors(bytes, source) : readStateDict(bytes, source);
}

/**
 * The model a state dict describes (recognise.ts). A network of the paper's family also gets its
 * `params`, through the same checks as always, so every command handles it as before.
 */
export function modelFromStateDict(dict: StateDict, source: string, options: RecogniseOptions, info: Partial<ModelInfo>): ResNetModel {
  const { graph, weights } = recogniseStateDict(dict, source, options);
  if (isPaperFamily(graph)) return new ResNetModel(stateDictToResNet(weights, source), info);
  return new ResNetModel(graph, { ...info, weights });
}
