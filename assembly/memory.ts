/**
 * WASM linear-memory ownership.
 *
 * Every buffer that crosses the TypeScript/WASM boundary is allocated here and released here, so the
 * TypeScript side (src/wasm/memory.ts) has exactly one place to ask for memory. Blocks come from the
 * runtime's TLSF heap, are 16-byte aligned (so v128 loads on f64/f32 arrays are aligned when the
 * offset is), and are not tracked by the garbage collector: the caller frees what it allocates.
 */

/** Allocate `bytes` bytes (16-byte aligned). Traps when memory cannot grow (the maximum is 4 GiB). */
export function allocate(bytes: usize): usize {
  return heap.alloc(bytes);
}

/** Release a block returned by `allocate`. */
export function release(ptr: usize): void {
  heap.free(ptr);
}

/** Fill `count` f64 values at `ptr` with zero. */
export function zeroBytes(ptr: usize, bytes: usize): void {
  memory.fill(ptr, 0, bytes);
}
