/**
 * Unit-stride level-1 BLAS cores, generic in the element type (f64, f32), inlined into their callers:
 * the contiguous paths of blas.ts DOT, AXPY and ROT, and the row operations of the kernels that work
 * on contiguous rows (bdsqr, GKL, the Gram band chase, inertia). x and y need no alignment.
 *
 * The order of operations is fixed (it is what makes results reproducible across callers):
 *   dotUnit   two v128 accumulators over blocks of 2 v128 (s0 takes the first, s1 the second),
 *             then vSum(s0 + s1), then the remaining n mod (2 * lanes) products added one by one;
 *   axpyUnit  y[i] + alpha * x[i] per lane (product rounded first), the tail likewise;
 *   rotUnit   x[i] <- c x[i] + s y[i], y[i] <- c y[i] - s x[i] (BLAS drot), the same per lane and tail.
 * Accuracy (Higham, Accuracy and Stability, 3.1): |dot - x.y| <= gamma_n |x|.|y|; axpy and rot
 * round each product and sum once.
 */
import { lanesOf, vAdd, vMul, vSplat, vSub, vSum } from "./simd";

/** sum_i x[i] * y[i] over n contiguous entries (0 for n <= 0). */
@inline export function dotUnit<T>(n: i32, x: usize, y: usize): T {
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  let i = 0;
  // Two independent accumulators hide the add latency.
  let s0 = vSplat<T>(<T>0), s1 = vSplat<T>(<T>0);
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const off = <usize>i * size;
    s0 = vAdd<T>(s0, vMul<T>(v128.load(x + off), v128.load(y + off)));
    s1 = vAdd<T>(s1, vMul<T>(v128.load(x + off, 16), v128.load(y + off, 16)));
  }
  let sum = vSum<T>(vAdd<T>(s0, s1));
  for (; i < n; i++) sum += load<T>(x + <usize>i * size) * load<T>(y + <usize>i * size);
  return sum;
}

/** y[i] += alpha * x[i] over n contiguous entries. */
@inline export function axpyUnit<T>(n: i32, alpha: T, x: usize, y: usize): void {
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  const av = vSplat<T>(alpha);
  let i = 0;
  for (; i + lanes <= n; i += lanes) {
    const off = <usize>i * size;
    v128.store(y + off, vAdd<T>(v128.load(y + off), vMul<T>(av, v128.load(x + off))));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    store<T>(y + off, load<T>(y + off) + alpha * load<T>(x + off));
  }
}

/** (x, y) <- (c x + s y, c y - s x) over n contiguous entries: the plane rotation of BLAS drot. */
@inline export function rotUnit<T>(n: i32, x: usize, y: usize, c: T, s: T): void {
  const size = <usize>sizeof<T>();
  const lanes = lanesOf<T>();
  const cv = vSplat<T>(c), sv = vSplat<T>(s);
  let i = 0;
  for (; i + lanes <= n; i += lanes) {
    const off = <usize>i * size;
    const xv = v128.load(x + off), yv = v128.load(y + off);
    v128.store(x + off, vAdd<T>(vMul<T>(cv, xv), vMul<T>(sv, yv)));
    v128.store(y + off, vSub<T>(vMul<T>(cv, yv), vMul<T>(sv, xv)));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    const xv = load<T>(x + off), yv = load<T>(y + off);
    store<T>(x + off, c * xv + s * yv);
    store<T>(y + off, c * yv - s * xv);
  }
}
