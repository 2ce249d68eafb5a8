// The one WASM module of resnet-stability: numerical kernels only, no knowledge of files, models or
// JSON. Every export takes raw pointers into linear memory (see memory.ts) plus explicit shapes.
export * from "./memory";
export * from "./conv";
export * from "./unit";
export * from "./blas";
export * from "./householder";
export * from "./bidiagonal";
export * from "./tridiagonal";
export * from "./operator";
export {
  REQUEST_DONE, REQUEST_APPLY, REQUEST_TRANSPOSE, lanczosRequestCount, lanczosRequestInput, lanczosRequestOutput,
} from "./lanczos";
export {
  GKL_CONVERGED, GKL_MAX_STEPS, GKL_RUNNING, rowJacobiSvdF64, gklCreate, gklBlock, gklSubspace, gklDestroy, gklStep,
  gklRun, gklStatus, gklSteps, gklRestarts, gklConvergedCount, gklNormEstimate, gklResults,
} from "./gkl";
export { gaussQuadratureF64, slqCreate, slqDestroy, slqStep, slqRun, slqResults } from "./slq";
export { bandedGramBandwidth, bandedGramFromCsrF64, bandedInertiaF64, denseInertiaF64 } from "./inertia";
export * from "./gram";
