// The one WASM module of resnet-stability: numerical kernels only, no knowledge of files, models or
// JSON. Every export takes raw pointers into linear memory (see memory.ts) plus explicit shapes.
//
// Exported are exactly the kernels the package's TypeScript (src/) calls — scripts/kernel-usage.mjs
// lists them, and test/kernel-exports.test.ts fails on an export src/ does not use; everything else
// stays internal to the module, where the as-pect specs (assembly/__tests__) test it directly and the
// exported kernels use it. Kernels only the Node tests and benchmarks call (F32 twins, the pool's
// JVP/VJP, a dense operator) are exported by the testing build instead (assembly/testing.ts).
// Export one more name here when src/ needs it.
export { allocate, release, allocatedBlocks } from "./memory";
export { conv3x3ForwardF64 } from "./conv";
// The float64 forward of general units (src/linearize/graph-forward64.ts, trajectory64.ts): any
// KxK/stride/padding convolution and max-pool, BN in inference (channelScaleShift, in unit.ts).
export { conv2dForwardF64 } from "./conv2d";
export { maxPool2dForwardF64 } from "./pool";
export {
  channelScaleShiftF64, unitForwardF64, unitOperatorCreateF64,
  unitOperatorCreateF32, unitOperatorDestroy, unitOperatorRows, unitOperatorActiveRows, unitJacobianRowBlockF64,
  unitJacobianRowBlockF32, unitJacobianRowsF64, unitJacobianRowsF32,
} from "./unit";
// Dense factorizations: src/spectrum/svd.ts picks the F64 or F32 twin of each by name.
export { gemmF64, gemmF32, gemmLowerF64, gemmLowerF32, transposeF64, transposeF32 } from "./blas";
export {
  geqrfF64, geqrfF32, gebrdF64, gebrdF32, orgbrQtF64, orgbrQtF32, orgbrPF64, orgbrPF32, sytrdF64, sytrdF32,
} from "./householder";
export { bdsqrF64, bdsqrF32 } from "./bidiagonal";
// The two-stage bidiagonalization of svd.ts svdValues (f64 values).
export { gebrdBandF64, bandBidiagonalF64 } from "./band";
export { sterfF64, sterfF32 } from "./tridiagonal";
export {
  operatorFromUnitF64, operatorFromUnitF32, operatorFromConvF64, operatorFromConvF32,
  operatorFromHeadF64, operatorFromHeadF32, operatorChain, operatorRows, operatorColumns, operatorElementSize,
  operatorDestroy, operatorApplyF64, operatorApplyTransposeF64, operatorApplyF32, operatorApplyTransposeF32,
  operatorFromConv2dF64, operatorFromConv2dF32, operatorFromChannelScaleF64, operatorFromChannelScaleF32,
  operatorFromMask, operatorFromMaxPool, operatorFromOptionA, operatorSum,
} from "./operator";
// The general linearization (src/linearize/graph-forward64.ts): the option-A shortcut of the float64 forward.
export { optionAShortcutF64 } from "./layer-operators";
// The reverse-communication protocol of gkl.ts and slq.ts, with the request and status codes
// src/spectrum/lanczos.ts reads (any request other than DONE and APPLY is a transpose).
export { REQUEST_DONE, REQUEST_APPLY, lanczosRequestCount, lanczosRequestInput, lanczosRequestOutput } from "./lanczos";
export {
  GKL_CONVERGED, gklCreate, gklBlock, gklSubspace, gklDestroy, gklStep, gklRun,
  gklStatus, gklSteps, gklRestarts, gklResults,
} from "./gkl";
export { slqCreate, slqDestroy, slqStep, slqRun, slqResults } from "./slq";
export { bandedGramBandwidth, bandedGramFromCsrF64, bandedInertiaF64, denseInertiaF64 } from "./inertia";
export {
  gramUnitOfOperator, gramWindowLength, gramActiveRowsPixelMajor, gramRowWindowsF64, gramLowerF64, gramUnitGeometry,
  gramLowerGeometryF64, gramSingularValuesF64, gramErrorBoundF64, gramTridiagonalizeF64, gramBandReduceF64,
  gramBandStride, gramBandFromLowerF64, gramBandToTridiagonalF64,
} from "./gram";
// The forward pass's 3x3 stride-1 convolutions on the tfjs wasm backend (src/model/backend.ts): Winograd F(4x4, 3x3).
export { winogradFilterF32, winogradConv3x3F32 } from "./winograd";
// The Gram route in f32 (src/spectrum/gram-route.ts, precision 'f32'): G formed in f64, rounded, reduced in f32.
export { gramLowerRoundF32, gramBandReduceF32, gramBandFromLowerF32, gramBandToTridiagonalF32 } from "./gram";
