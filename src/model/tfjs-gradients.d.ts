// build/tfjs-gradients.js (scripts/build.mjs) is imported only for its side effect: it registers tfjs'
// gradients into tfjs' global engine and exports nothing.
declare module '*/build/tfjs-gradients.js';
