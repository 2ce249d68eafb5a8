// Entry of the "threads" build (asconfig.json target "threads": build/resnet-stability.threads.wasm):
// the whole module of index.ts on an imported shared memory, plus the thread pool of parallel.ts, which
// gram.ts gramBandReduceF64 uses while a pool is open. The start function is exported as
// `_initialize` instead of running at instantiation: the main thread's instance calls it once, helper
// instances (src/wasm/threads.ts) never do, so they neither touch the heap nor rerun static
// initializers on the memory they share.
export * from "./index";
export { threadPoolOpen, threadPoolClose, threadServe, threadFail, threadPoolBlocks, threadPoolSeconds } from "./parallel";
// The lower-triangle GEMM over the pool (src/wasm/threads.ts ThreadedKernels.gemmLowerF64): the Gram
// products of spectrum/full.ts on every core.
export { parallelGemmLowerF64 } from "./parallel";
