/** The entry point of a pool worker (Node worker_threads or a browser Web Worker), exposed with Comlink. */
import * as Comlink from 'comlink';
import { isNode } from '../util/runtime.js';
import { workerApi } from './worker-api.js';

if (isNode) {
  const { parentPort } = await import('node:worker_threads');
  const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
  Comlink.expose(workerApi, nodeEndpoint(parentPort!));
} else {
  Comlink.expose(workerApi);
}
