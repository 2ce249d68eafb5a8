// Deterministic test data for the as-pect specs: a linear congruential generator, so that a failure
// reproduces. Each spec file is its own WebAssembly module, so each has its own generator state; a spec
// calls seedRandom once at its top level and then draws its values in a fixed order.
import { allocate } from "../../memory";

let seed: u32 = 1;

export function seedRandom(value: u32): void {
  seed = value;
}

/** Uniform in [-1, 1). */
export function rand(): f64 {
  seed = seed * 1664525 + 1013904223;
  return <f64>(seed >>> 8) / 8388608.0 - 1.0;
}

/** `count` rand() values as f64 in a fresh allocation (release it when done). */
export function randomF64(count: i32): usize {
  const p = allocate(<usize>count << 3);
  for (let i = 0; i < count; i++) store<f64>(p + (<usize>i << 3), rand());
  return p;
}

/** `count` rand() values rounded to f32 in a fresh allocation. */
export function randomF32(count: i32): usize {
  const p = allocate(<usize>count << 2);
  for (let i = 0; i < count; i++) store<f32>(p + (<usize>i << 2), <f32>rand());
  return p;
}
