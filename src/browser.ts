/**
 * resnet-stability for browsers: the same API as the Node entry, with models and WebAssembly loaded by
 * URL and the worker pool made of Web Workers (dist/browser/worker.js). Functions that read files by
 * path (loadCifar, loadImage, saveModel, ...) need Node; in a browser pass bytes (readCifarBatch,
 * decodeImage) or URLs (loadModel) instead.
 */
import { assetsNextTo, configureAssets } from './web/assets.js';

configureAssets(assetsNextTo(import.meta.url));

export * from './index.js';
export { configureAssets, type AssetLocations } from './web/assets.js';
export { unitTopSpectrum, type UnitTopSpectrum, type UnitTopSpectrumRequest } from './web/unit-top-spectrum.js';
