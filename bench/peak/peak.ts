// Peak multiply-add throughput of WebAssembly SIMD on this machine and engine (bench/peak.ts drives it).
//
// Each kernel runs `iterations` rounds over 12 independent f64x2 (or f32x4) accumulators, each round
// a_i += x_i * m with x_i loaded from a small L1-resident table (as a GEMM micro-kernel streams its
// packed panel), so the multiplies are off the accumulators' dependency chains and the loop is bound by
// the issue rate of the SIMD pipes, not by latency. The table row changes with the round so neither
// compiler nor engine can hoist the products. Every kernel returns the lane sum so the work is kept.
//
// Floating-point operations counted per round: 12 accumulators x lanes x 2 (one multiply, one add).
//   f64 kernels: 12 * 2 * 2 = 48 flops per round;  f32 kernels: 12 * 4 * 2 = 96 flops per round.
//
// `*MulAdd` use separate mul and add (what every engine has); `*Relaxed` use relaxed_madd, which the
// engine may lower to a fused FMA (x86 with FMA3) or to mul+add. Built twice by bench/peak.ts:
// without and with --enable relaxed-simd (in the first, the relaxed kernels return -1 at once).

// Four rows of 12 v128 operands; filled with small values once by fillTable.
const TABLE: usize = memory.data(4 * 192, 16);

/**
 * Fill the operand table (call once before the kernels) with f32 values near `value`: read as f32 they
 * are those values, read as f64 each pair is a normal number near 2^-15 (no subnormal operands either way,
 * which some cores handle slowly).
 */
export function fillTable(value: f32): void {
  for (let i = 0; i < 4 * 192; i += 4) store<f32>(TABLE + <usize>i, value + <f32>i * 1e-4);
}

// @ts-ignore: decorator
@inline function lanes64(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// @ts-ignore: decorator
@inline function lanes32(v: v128): f64 {
  return <f64>(f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

export function peakF64MulAdd(iterations: i32, seed: f64): f64 {
  const m = f64x2.splat(1.0 - 1e-9);
  let a0 = f64x2.splat(seed), a1 = f64x2.splat(seed + 1), a2 = f64x2.splat(seed + 2), a3 = f64x2.splat(seed + 3);
  let a4 = f64x2.splat(seed + 4), a5 = f64x2.splat(seed + 5), a6 = f64x2.splat(seed + 6), a7 = f64x2.splat(seed + 7);
  let a8 = f64x2.splat(seed + 8), a9 = f64x2.splat(seed + 9), a10 = f64x2.splat(seed + 10), a11 = f64x2.splat(seed + 11);
  for (let i = 0; i < iterations; i++) {
    const row = TABLE + (<usize>(i & 3)) * 192;
    a0 = f64x2.add(a0, f64x2.mul(v128.load(row, 0), m)); a1 = f64x2.add(a1, f64x2.mul(v128.load(row, 16), m));
    a2 = f64x2.add(a2, f64x2.mul(v128.load(row, 32), m)); a3 = f64x2.add(a3, f64x2.mul(v128.load(row, 48), m));
    a4 = f64x2.add(a4, f64x2.mul(v128.load(row, 64), m)); a5 = f64x2.add(a5, f64x2.mul(v128.load(row, 80), m));
    a6 = f64x2.add(a6, f64x2.mul(v128.load(row, 96), m)); a7 = f64x2.add(a7, f64x2.mul(v128.load(row, 112), m));
    a8 = f64x2.add(a8, f64x2.mul(v128.load(row, 128), m)); a9 = f64x2.add(a9, f64x2.mul(v128.load(row, 144), m));
    a10 = f64x2.add(a10, f64x2.mul(v128.load(row, 160), m)); a11 = f64x2.add(a11, f64x2.mul(v128.load(row, 176), m));
  }
  return lanes64(a0) + lanes64(a1) + lanes64(a2) + lanes64(a3) + lanes64(a4) + lanes64(a5)
    + lanes64(a6) + lanes64(a7) + lanes64(a8) + lanes64(a9) + lanes64(a10) + lanes64(a11);
}

export function peakF32MulAdd(iterations: i32, seed: f32): f64 {
  const m = f32x4.splat(<f32>(1.0 - 1e-6));
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
  let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
  let a8 = f32x4.splat(seed + 8), a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iterations; i++) {
    const row = TABLE + (<usize>(i & 3)) * 192;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(row, 0), m)); a1 = f32x4.add(a1, f32x4.mul(v128.load(row, 16), m));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(row, 32), m)); a3 = f32x4.add(a3, f32x4.mul(v128.load(row, 48), m));
    a4 = f32x4.add(a4, f32x4.mul(v128.load(row, 64), m)); a5 = f32x4.add(a5, f32x4.mul(v128.load(row, 80), m));
    a6 = f32x4.add(a6, f32x4.mul(v128.load(row, 96), m)); a7 = f32x4.add(a7, f32x4.mul(v128.load(row, 112), m));
    a8 = f32x4.add(a8, f32x4.mul(v128.load(row, 128), m)); a9 = f32x4.add(a9, f32x4.mul(v128.load(row, 144), m));
    a10 = f32x4.add(a10, f32x4.mul(v128.load(row, 160), m)); a11 = f32x4.add(a11, f32x4.mul(v128.load(row, 176), m));
  }
  return lanes32(a0) + lanes32(a1) + lanes32(a2) + lanes32(a3) + lanes32(a4) + lanes32(a5)
    + lanes32(a6) + lanes32(a7) + lanes32(a8) + lanes32(a9) + lanes32(a10) + lanes32(a11);
}

// The relaxed kernels compile only with --enable relaxed-simd (ASC_FEATURE_RELAXED_SIMD is then true).
export function peakF64Relaxed(iterations: i32, seed: f64): f64 {
  if (!ASC_FEATURE_RELAXED_SIMD) return -1;
  const m = f64x2.splat(1.0 - 1e-9);
  let a0 = f64x2.splat(seed), a1 = f64x2.splat(seed + 1), a2 = f64x2.splat(seed + 2), a3 = f64x2.splat(seed + 3);
  let a4 = f64x2.splat(seed + 4), a5 = f64x2.splat(seed + 5), a6 = f64x2.splat(seed + 6), a7 = f64x2.splat(seed + 7);
  let a8 = f64x2.splat(seed + 8), a9 = f64x2.splat(seed + 9), a10 = f64x2.splat(seed + 10), a11 = f64x2.splat(seed + 11);
  for (let i = 0; i < iterations; i++) {
    const row = TABLE + (<usize>(i & 3)) * 192;
    a0 = f64x2.relaxed_madd(v128.load(row, 0), m, a0); a1 = f64x2.relaxed_madd(v128.load(row, 16), m, a1);
    a2 = f64x2.relaxed_madd(v128.load(row, 32), m, a2); a3 = f64x2.relaxed_madd(v128.load(row, 48), m, a3);
    a4 = f64x2.relaxed_madd(v128.load(row, 64), m, a4); a5 = f64x2.relaxed_madd(v128.load(row, 80), m, a5);
    a6 = f64x2.relaxed_madd(v128.load(row, 96), m, a6); a7 = f64x2.relaxed_madd(v128.load(row, 112), m, a7);
    a8 = f64x2.relaxed_madd(v128.load(row, 128), m, a8); a9 = f64x2.relaxed_madd(v128.load(row, 144), m, a9);
    a10 = f64x2.relaxed_madd(v128.load(row, 160), m, a10); a11 = f64x2.relaxed_madd(v128.load(row, 176), m, a11);
  }
  return lanes64(a0) + lanes64(a1) + lanes64(a2) + lanes64(a3) + lanes64(a4) + lanes64(a5)
    + lanes64(a6) + lanes64(a7) + lanes64(a8) + lanes64(a9) + lanes64(a10) + lanes64(a11);
}

export function peakF32Relaxed(iterations: i32, seed: f32): f64 {
  if (!ASC_FEATURE_RELAXED_SIMD) return -1;
  const m = f32x4.splat(<f32>(1.0 - 1e-6));
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
  let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
  let a8 = f32x4.splat(seed + 8), a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iterations; i++) {
    const row = TABLE + (<usize>(i & 3)) * 192;
    a0 = f32x4.relaxed_madd(v128.load(row, 0), m, a0); a1 = f32x4.relaxed_madd(v128.load(row, 16), m, a1);
    a2 = f32x4.relaxed_madd(v128.load(row, 32), m, a2); a3 = f32x4.relaxed_madd(v128.load(row, 48), m, a3);
    a4 = f32x4.relaxed_madd(v128.load(row, 64), m, a4); a5 = f32x4.relaxed_madd(v128.load(row, 80), m, a5);
    a6 = f32x4.relaxed_madd(v128.load(row, 96), m, a6); a7 = f32x4.relaxed_madd(v128.load(row, 112), m, a7);
    a8 = f32x4.relaxed_madd(v128.load(row, 128), m, a8); a9 = f32x4.relaxed_madd(v128.load(row, 144), m, a9);
    a10 = f32x4.relaxed_madd(v128.load(row, 160), m, a10); a11 = f32x4.relaxed_madd(v128.load(row, 176), m, a11);
  }
  return lanes32(a0) + lanes32(a1) + lanes32(a2) + lanes32(a3) + lanes32(a4) + lanes32(a5)
    + lanes32(a6) + lanes32(a7) + lanes32(a8) + lanes32(a9) + lanes32(a10) + lanes32(a11);
}
