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
export * from "./lanczos";
export * from "./gram";
