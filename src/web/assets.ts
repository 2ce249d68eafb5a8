/**
 * Where the browser bundle finds what it loads at run time. There is no file system in a browser, so
 * the WebAssembly kernels, tfjs' WebAssembly backend and the shipped models are fetched by URL. By
 * default they sit next to the bundle (dist/browser/ holds both .wasm kinds; the models are the
 * package's models/ folder two levels up), so serving the installed package as it is works; a page that
 * copies them elsewhere says where with `configureAssets` before its first computation.
 */
import { setDefaultBackendOptions } from '../model/backend.js';
import { setShippedModelsBase } from '../model/load.js';
import { setDefaultKernelSource, type WasmSource } from '../wasm/kernels.js';

export interface AssetLocations {
  /** Our kernels: a URL of resnet-stability.wasm, its bytes, or a compiled WebAssembly.Module. */
  kernels?: WasmSource;
  /** Folder URL (ending in '/') holding tfjs-backend-wasm.wasm, -simd.wasm and -threaded-simd.wasm. */
  tfjsWasm?: string;
  /** Folder URL holding the shipped models as <name>/model.json + weights. */
  models?: URL | string;
}

export function configureAssets(locations: AssetLocations): void {
  if (locations.kernels !== undefined) setDefaultKernelSource(locations.kernels);
  if (locations.tfjsWasm !== undefined) setDefaultBackendOptions({ wasmPaths: locations.tfjsWasm });
  if (locations.models !== undefined) setShippedModelsBase(locations.models);
}

/** The defaults of the browser bundle: everything next to the bundle file that imports this. */
export function assetsNextTo(moduleUrl: string): AssetLocations {
  return {
    kernels: new URL('./resnet-stability.wasm', moduleUrl),
    tfjsWasm: new URL('./', moduleUrl).href,
  };
}
