/** The pool worker of the browser bundle: its assets sit next to it, as the main bundle's do. */
import { assetsNextTo, configureAssets } from '../web/assets.js';

configureAssets(assetsNextTo(import.meta.url));
await import('./worker.js');
