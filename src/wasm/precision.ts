/**
 * The kernels of one working precision under one set of names: `kernels.typed('f64').gebrd` is gebrdF64,
 * `kernels.typed('f32').gebrd` gebrdF32. Every kernel that exists in both precisions (an F64 export with
 * an F32 twin) is there, typed from the generated export interface so that a call must suit both
 * signatures; the precision is chosen once, where the family is taken.
 */
import type { KernelExports } from './kernel-exports.generated.js';

export type Precision = 'f64' | 'f32';
export type FloatArray = Float64Array | Float32Array;

function checkPrecision(precision: Precision): void {
  if (precision !== 'f64' && precision !== 'f32') {
    throw new RangeError(`precision must be 'f64' or 'f32', got ${JSON.stringify(precision)}`);
  }
}

/** A new zero-filled JavaScript array of `length` elements of `precision`. Errors: RangeError. */
export function newFloatArray(precision: Precision, length: number): FloatArray {
  checkPrecision(precision);
  return precision === 'f64' ? new Float64Array(length) : new Float32Array(length);
}

/** `gebrd` for gebrdF64 when gebrdF32 exists too (among the exports E). */
type TwinBase<E, N> = N extends `${infer Base}F64` ? (`${Base}F32` extends keyof E ? Base : never) : never;
export type PrecisionKernelName<E = KernelExports> = TwinBase<E, keyof E>;

type Export<E, N> = N extends keyof E ? E[N] : never;

/** What a family holds besides the kernels (no kernel may take these names). */
export interface PrecisionInfo {
  readonly precision: Precision;
  /** Bytes per element: 8 (f64) or 4 (f32). */
  readonly bytes: 8 | 4;
  /** A fresh view of `count` elements at byte offset `ptr` (invalidated by memory growth). */
  view(ptr: number, count: number): FloatArray;
  /** A new zero-filled JavaScript array of `count` elements of this precision. */
  array(count: number): FloatArray;
}

/**
 * The kernels of one precision; each is the F64 or F32 export, and a call type-checks against both.
 * E is the module's exports: KernelExports for the shipped build (the testing build's tests widen it).
 */
export type PrecisionKernels<E = KernelExports> = PrecisionInfo & {
  readonly [B in PrecisionKernelName<E>]: Export<E, `${B}F64`> | Export<E, `${B}F32`>;
};

// A kernel named like a family member would be shadowed: make that a type error.
type Clash = Extract<PrecisionKernelName, keyof PrecisionInfo>;
const noClash: [Clash] extends [never] ? true : never = true;
void noClash;

/** Where a family reads the views from (the Kernels instance). */
interface Memory<E> {
  readonly exports: E;
  f64(ptr: number, count: number): Float64Array;
  f32(ptr: number, count: number): Float32Array;
}

/** The family of `precision` over `kernels`' exports. Errors: RangeError for another precision. */
export function precisionKernels<E extends KernelExports>(kernels: Memory<E>, precision: Precision): PrecisionKernels<E> {
  checkPrecision(precision);
  const f64 = precision === 'f64';
  const suffix = f64 ? 'F64' : 'F32';
  const info: PrecisionInfo = {
    precision,
    bytes: f64 ? 8 : 4,
    view: f64 ? (ptr, count) => kernels.f64(ptr, count) : (ptr, count) => kernels.f32(ptr, count),
    array: f64 ? (count) => new Float64Array(count) : (count) => new Float32Array(count),
  };
  const family: Record<string, unknown> = { ...info };
  const exports = kernels.exports as unknown as Record<string, unknown>;
  for (const name of Object.keys(exports)) {
    if (!name.endsWith('F64')) continue;
    const base = name.slice(0, -3);
    if (typeof exports[`${base}F32`] === 'function') family[base] = exports[base + suffix];
  }
  return family as unknown as PrecisionKernels<E>;
}
