/** The entry point of a pool worker (Node worker_threads or a browser Web Worker), exposed with Comlink. */
import * as Comlink from 'comlink';
import { workerApi } from './worker-api.js';

const isNodeWorker = typeof process !== 'undefined' && !!process.versions?.node;

if (isNodeWorker) {
  const { parentPort } = await import('node:worker_threads');
  const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
  Comlink.expose(workerApi, nodeEndpoint(parentPort!));
} else {
  Comlink.expose(workerApi);
}
