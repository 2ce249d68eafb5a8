/**
 * resnet-stability: the public API. Residual networks as nonlinear systems, studied by linearization
 * (Rothauge, Yao, Hu & Mahoney 2019), in TypeScript + SIMD WebAssembly.
 */
export { PACKAGE_VERSION } from './version.js';
export { InputError } from './util/errors.js';

// Models: architecture, checkpoints, the package format, loading.
export type * from './model/types.js';
export { ResNetModel, CIFAR10_CLASSES, CIFAR100_CLASSES, type Scaling, type UnitScales, type ModelInfo, type AccuracyRecord } from './model/model.js';
export { readStateDict } from './model/checkpoint/torch.js';
export { importCheckpoint, stateDictToResNet } from './model/checkpoint/resnet.js';
export { encodeModel, decodeModel, resNetToStateDict, type ModelJson } from './model/format.js';
export { loadModel, saveModel, SHIPPED_MODELS } from './model/load.js';
// Any common ResNet: recognised from its state dict into a NetworkGraph; safetensors weights.
export type { Family, NetworkGraph, NetworkDescription, ResidualUnitGraph, Layer } from './model/graph.js';
export { recogniseStateDict, describeNetwork, FAMILIES, type RecogniseOptions } from './model/recognise.js';
export { modelFromStateDict, readWeightsFile } from './model/from-state-dict.js';
export { readSafetensors, writeSafetensors } from './model/safetensors.js';

// Forward pass on tfjs-wasm and the trajectory.
export { initBackend } from './model/backend.js';
export { predictLogits, forwardTrajectories, releaseBackendNetwork } from './model/forward.js';
export type { Trajectory, UnitTrace } from './model/trajectory.js';

// Data.
export { readCifarBatch, loadCifar, imageToFloat, type CifarBatch } from './data/cifar.js';
export { readCifar100Batch } from './data/cifar100.js';
export { scanImageFolder, loadFolderImages, type ImageFolder } from './data/image-folder.js';
export { decodeImage, loadImage, assertFiniteImage } from './data/image.js';
export { resolveCifarSource } from './data/source.js';
export { parseIndexList } from './data/indices.js';

// Studies.
export { evaluateAccuracy, type AccuracyResult } from './study/accuracy.js';

// WebAssembly kernels.
export {
  loadKernels, instantiateKernels, Kernels, setDefaultKernelSource,
  type KernelExports, type PrecisionKernels, type WasmScope,
} from './wasm/kernels.js';
export { loadThreadedKernels, defaultThreadCount, type ThreadedKernels } from './wasm/threads.js';

// Linearization: residual units, stages and the whole network as WASM operators.
export * from './linearize/index.js';

// Spectra.
export { svdValues, svd, type SvdOptions, type SvdRoute, type SvdResult } from './spectrum/svd.js';
export { unitSpectrum, spectrumSummary, type UnitSpectrum, type UnitSpectrumOptions } from './study/spectrum.js';

// Perturbations and how they propagate.
export { perturbImages, crossEntropyGradient, ATTACKS, type AttackName, type PerturbationOptions } from './study/perturbations.js';
export { propagatePerturbations, type PropagationResult } from './study/propagation.js';
export { firstOrderPropagation } from './study/first-order.js';
export { InProcessExecutor, runStudyJob, type StudyExecutor, type StudyJob, type StudyJobResult } from './study/executor.js';
export { WorkerPool, createExecutor } from './workers/pool.js';
export { unitSingularValuesGram } from './spectrum/gram-route.js';
export { topSingularTriplets, type LinearOperator, type SingularTriplets } from './spectrum/lanczos.js';
export { spectralDensity, type SpectralDensity } from './spectrum/density.js';
export { countSingularValues, countSingularValuesBanded, bandedGramFromRows, pixelMajorOrder } from './spectrum/count.js';
export { scalingSweep, scaledModel } from './study/scaling.js';
export { stageSpectrum } from './study/stage.js';
export { projectPerturbations } from './study/projection.js';
