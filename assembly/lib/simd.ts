/**
 * v128 lane operations generic in the element type: one v128 holds lanesOf<T>() = 16 / sizeof<T>()
 * values (f64 -> f64x2, f32 -> f32x4). Every helper is @inline and resolves at compile time, so a
 * generic kernel compiles to exactly the instructions a hand-written f64x2 or f32x4 one would.
 *
 * WASM SIMD has no fused multiply-add (without relaxed-simd): vMulAdd rounds the product before the
 * sum, like the scalar a + b * c.
 */

/** Values per v128. */
@inline export function lanesOf<T>(): i32 {
  return 16 / <i32>sizeof<T>();
}
/** All lanes zero. */
@inline export function vZero(): v128 {
  return i64x2.splat(0);
}
/** All lanes x. */
@inline export function vSplat<T>(x: T): v128 {
  if (sizeof<T>() == 8) return f64x2.splat(<f64>x);
  return f32x4.splat(<f32>x);
}
/** All lanes the value of T at p. */
@inline export function vSplatLoad<T>(p: usize): v128 {
  if (sizeof<T>() == 8) return v128.load64_splat(p);
  return v128.load32_splat(p);
}
@inline export function vAdd<T>(a: v128, b: v128): v128 {
  if (sizeof<T>() == 8) return f64x2.add(a, b);
  return f32x4.add(a, b);
}
@inline export function vSub<T>(a: v128, b: v128): v128 {
  if (sizeof<T>() == 8) return f64x2.sub(a, b);
  return f32x4.sub(a, b);
}
@inline export function vMul<T>(a: v128, b: v128): v128 {
  if (sizeof<T>() == 8) return f64x2.mul(a, b);
  return f32x4.mul(a, b);
}
/** acc + a * b, lanewise (product rounded first). */
@inline export function vMulAdd<T>(acc: v128, a: v128, b: v128): v128 {
  if (sizeof<T>() == 8) return f64x2.add(acc, f64x2.mul(a, b));
  return f32x4.add(acc, f32x4.mul(a, b));
}
/** Sum of the lanes: l0 + l1 (f64), (l0 + l1) + (l2 + l3) (f32). */
@inline export function vSum<T>(v: v128): T {
  if (sizeof<T>() == 8) return <T>(f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1));
  return <T>((f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3)));
}
