/**
 * Element access and zeroed scratch for kernels that address arrays by index: element i of an array
 * of T at p is at p + i * sizeof<T>() (byte addresses; i is widened before the multiplication so that
 * products of indices beyond 2^31 / sizeof<T> stay exact in usize).
 */

@inline export function getAt<T>(p: usize, i: i32): T {
  return load<T>(p + <usize>i * sizeof<T>());
}
@inline export function setAt<T>(p: usize, i: i32, v: T): void {
  store<T>(p + <usize>i * sizeof<T>(), v);
}
/** Address of row `index` of a row-major f64 matrix at p with `length` values per row. */
@inline export function rowF64(p: usize, index: i32, length: i32): usize {
  return p + ((<usize>index * <usize>length) << 3);
}
/**
 * `count` f64 zeros on the runtime heap (room for at least 2, so that an empty array is still a
 * distinct block); release with heap.free.
 */
export function allocZeroedF64(count: usize): usize {
  const bytes = max<usize>(count, 2) << 3;
  const p = heap.alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}
/**
 * A copy of the `bytes` bytes at `src` on the runtime heap (room for at least 16 bytes, so that an
 * empty copy is still a distinct block); release with heap.free.
 */
export function allocCopy(src: usize, bytes: usize): usize {
  const dst = heap.alloc(max<usize>(bytes, 16));
  memory.copy(dst, src, bytes);
  return dst;
}
