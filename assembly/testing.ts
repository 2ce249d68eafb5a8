// Entry of the "testing" build (asconfig.json target "testing": build/resnet-stability.testing.wasm,
// never shipped): the whole module of index.ts plus kernels that only the Node tests and benchmarks
// call, so that the shipped module exports only what src/ uses (assembly/index.ts). Here are the
// twins and adjoints the TypeScript tests check against PyTorch (test/conv2d-kernels.test.ts: the f32
// convolution and max-pool, the convolution's VJP, the pool's JVP/VJP and its output size), the
// benchmarks' f32 convolution (bench/peak.ts), and a dense operator for the Lanczos tests
// (test/lanczos.test.ts). test/support/testing-kernels.ts loads it; its extra exports are typed by
// TestingExports (scripts/kernel-types.mjs).
export * from "./index";
export { conv2dOutputSize, conv2dForwardF32, conv2dTransposeF64, conv2dTransposeF32 } from "./conv2d";
export {
  maxPool2dForwardF32, maxPool2dGatherF64, maxPool2dGatherF32, maxPool2dScatterF64, maxPool2dScatterF32,
} from "./pool";
export { operatorFromDenseF64 } from "./operator";
// The batched GEMM convolutions (conv-gemm.ts) beside conv2d.ts's, for test/conv-gemm.test.ts and
// bench/conv-gemm.ts (the layer operators pick between them).
export { conv2dGemmForwardF64, conv2dGemmForwardF32, conv2dGemmTransposeF64, conv2dGemmTransposeF32 } from "./conv-gemm";
