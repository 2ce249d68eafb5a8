/**
 * The tfjs WebAssembly backend, initialised once per thread. In Node the backend finds its .wasm files
 * inside its own package; browsers and edge runtimes must say where they are served (`wasmPaths`).
 * The SIMD build is used wherever the runtime supports SIMD; the threaded SIMD build only where the
 * runtime allows shared memory threads (cross-origin isolated pages) — Node uses our own worker pool.
 */
import type * as Tf from '@tensorflow/tfjs-core';
import { isNode } from '../util/runtime.js';
import { loadKernels, type Kernels } from '../wasm/kernels.js';

/*
 * tfjs is imported on first use, not with this module: loading it takes longer than a command that
 * never runs the network (`--help`, `merge`, `compare`) should wait.
 */
let ready: Promise<typeof Tf> | undefined;

export interface BackendOptions {
  /** Prefix URL (ending in '/') where tfjs-backend-wasm*.wasm are served (browsers, edge). */
  wasmPaths?: string;
  /**
   * Run the 3x3 stride-1 convolutions (forward and, through the adjoint, gradients) on our Winograd
   * kernel instead of XNNPACK. Default true, except in Node with RESNET_STABILITY_XNNPACK_CONV=1 (how
   * bench/forward.ts measures tfjs alone in worker threads). Fixed by the first call.
   */
  ownConvolutions?: boolean;
}

let defaultOptions: BackendOptions = {};

/** Options used when `initBackend()` is called without any (the browser bundle points at its assets). */
export function setDefaultBackendOptions(options: BackendOptions): void {
  defaultOptions = options;
}

export function initBackend(options: BackendOptions = defaultOptions): Promise<typeof Tf> {
  ready ??= (async () => {
    const [tf, { setWasmPaths }] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-backend-wasm')]);
    // Gradients (attacks, gradient checks) need tfjs' gradient registry, which tfjs-core leaves optional.
    await import('../../build/tfjs-gradients.js');
    if (options.wasmPaths) setWasmPaths(options.wasmPaths);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('cannot initialise the tfjs WebAssembly backend');
    await tf.ready();
    const own = options.ownConvolutions ?? !(isNode && process.env.RESNET_STABILITY_XNNPACK_CONV === '1');
    if (own) registerWinograd(tf, await loadKernels());
    return tf;
  })();
  return ready;
}

type KernelArgs = Parameters<Tf.KernelFunc>[0];
interface WasmBackend {
  typedArrayFromHeap(t: Tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: 'float32'): Tf.TensorInfo;
}

/**
 * Our kernels' copy of one call's operands: one block per role, grown when a call needs more (our
 * WASM memory and the backend's are separate, so every operand crosses by copy).
 */
class Arena {
  readonly #blocks = new Map<string, { ptr: number; floats: number }>();
  constructor(readonly kernels: Kernels) {}
  /** A block of at least `floats` f32 values for `role`; views must be taken after every call. */
  block(role: string, floats: number): number {
    const held = this.#blocks.get(role);
    if (held && held.floats >= floats) return held.ptr;
    if (held) this.kernels.release(held.ptr);
    const ptr = this.kernels.allocF32(floats);
    this.#blocks.set(role, { ptr, floats });
    return ptr;
  }
  view(ptr: number, floats: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, ptr, floats);
  }
}

/**
 * Register FusedConv2D and Conv2D of the wasm backend anew: 3x3, stride 1, padding 1, NHWC float32 with
 * C a multiple of 4 and K of 8 (the paper's ResNets' convolutions after the stem, and the stride-1
 * adjoints the differentiable steps run as convolutions) go to winogradConv3x3F32; everything else
 * (the stem's 3 channels, stride 2, 1x1, other activations) to the backend's own kernel (XNNPACK).
 */
function registerWinograd(tf: typeof Tf, kernels: Kernels): void {
  const fused = tf.getKernel('FusedConv2D', 'wasm');
  const plain = tf.getKernel('Conv2D', 'wasm');
  if (!fused || !plain) throw new Error('the tfjs wasm backend has no FusedConv2D or Conv2D kernel to replace');
  const arena = new Arena(kernels);
  // Transformed filters stay in our memory while their tensor lives (the models' filters are kept
  // tensors, used by every batch): released once tfjs drops the filter's data id.
  const transformed = new WeakMap<object, number>();
  const released = new FinalizationRegistry<number>((ptr) => kernels.release(ptr));
  const run = (args: KernelArgs): Tf.TensorInfo | undefined => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, Tf.TensorInfo | undefined>;
    const attrs = args.attrs as unknown as Tf.FusedConv2DAttrs;
    const activation = attrs.activation ?? 'linear';
    if (!x || !filter || preluActivationWeights || (activation !== 'linear' && activation !== 'relu')) return undefined;
    if (x.dtype !== 'float32' || filter.dtype !== 'float32' || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined;
    if (x.shape.length !== 4 || filter.shape.length !== 4 || filter.shape[0] !== 3 || filter.shape[1] !== 3) return undefined;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode,
    );
    const { top, bottom, left, right } = info.padInfo;
    if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
    if (top !== 1 || bottom !== 1 || left !== 1 || right !== 1) return undefined;
    const [batch, h, w, c] = x.shape as [number, number, number, number];
    const k = filter.shape[3]!;
    if (c % 4 !== 0 || k % 8 !== 0 || (bias && (bias.shape.length !== 1 || bias.shape[0] !== k || bias.dtype !== 'float32'))) return undefined;
    const backend = args.backend as unknown as WasmBackend;
    let u = transformed.get(filter.dataId);
    if (u === undefined) {
      const pw = arena.block('filter', 9 * c * k);
      arena.view(pw, 9 * c * k).set(backend.typedArrayFromHeap(filter));
      u = kernels.allocF32(36 * c * k);
      kernels.exports.winogradFilterF32(pw, c, k, u);
      transformed.set(filter.dataId, u);
      released.register(filter.dataId, u);
    }
    const xs = batch * h * w * c;
    const ys = batch * h * w * k;
    const px = arena.block('x', xs);
    const pb = bias ? arena.block('bias', k) : 0;
    const py = arena.block('y', ys);
    arena.view(px, xs).set(backend.typedArrayFromHeap(x));
    if (bias) arena.view(pb, k).set(backend.typedArrayFromHeap(bias));
    kernels.exports.winogradConv3x3F32(px, batch, h, w, c, u, k, pb, activation === 'relu' ? 1 : 0, py);
    const out = backend.makeOutput([batch, h, w, k], 'float32');
    backend.typedArrayFromHeap(out).set(arena.view(py, ys));
    return out;
  };
  for (const original of [fused, plain]) {
    tf.unregisterKernel(original.kernelName, 'wasm');
    tf.registerKernel({
      kernelName: original.kernelName,
      backendName: 'wasm',
      kernelFunc: (args) => run(args) ?? (original.kernelFunc(args) as Tf.TensorInfo),
    });
  }
}
