/**
 * 3x3, stride 1, padding 1 convolution in f32 by Winograd's minimal filtering F(4x4, 3x3) (Lavin &
 * Gray 2016), NHWC, batched, with a fused per-channel bias and optional ReLU: the forward
 * convolutions of the paper's ResNets (and, with the rotated, channel-swapped filter, their adjoints).
 *
 *   WINOGRADFILTERF32  u[xi, c, k] = (G w[:, :, c, k] G^T)[xi / 6, xi % 6], w HWIO (3 x 3 x C x K),
 *                      u 36 x C x K, computed in f64 and rounded once.
 *   WINOGRADCONV3X3F32 y[b, r, s, k] = act(bias[k] + sum_{c, dy, dx} w[dy, dx, c, k] x[b, r+dy-1, s+dx-1, c])
 *                      x B x H x W x C, y B x H x W x K (NHWC), bias K values or 0 (none),
 *                      act = max(., 0) when relu != 0. Input entries outside the image are zero.
 * Shapes: B >= 0, H, W >= 1, C a multiple of 4, K a multiple of 8 (others abort; callers fall back to
 * a direct convolution). x and y must not overlap.
 *
 * Method. Output tiles of 4 x 4 pixels (H and W rounded up; the ragged edge is computed and not
 * stored) read 6 x 6 input patches. Per block of up to TILES tiles: the input transform
 * V = B^T d B (SIMD over 4 channels) into V[xi][t][c]; for each of the 36 points xi the product
 * M[xi] = V[xi] U[xi] (tiles x C times C x K, 4-tile x 8-output register tiles: 8 accumulators,
 * two filter vectors and a broadcast pixel value, which fits V8's 15 xmm registers without spills);
 * then the output transform Y = A^T M A, bias and ReLU (SIMD over 4 output channels). The block's
 * V and M stay in L2; the 36 filter matrices are read once per block.
 *
 * Multiplies: 36 C K per 16 outputs instead of 144 C K (4x fewer), plus the transforms (about
 * 12 adds per input value per block, amortised over K; the same per output over C).
 *
 * Accuracy. Not the direct sum's: the transforms use the points 0, +-1, +-2, so u carries G's 1/6,
 * 1/12, 1/24 and the output transform multiplies by up to 8. The error of an output is a small
 * multiple of eps times sum |A^T| |M| |A| with |M| <= |B^T||d||B| . |u|, i.e. bounded by
 * c * eps * C * max|x| * max|w| with c a few hundred, against about 9 C eps for the direct sum.
 * Measured against PyTorch float64 (test/conv2d-kernels.test.ts): max |error| / max |y| about
 * 1e-6 for the trained networks' layers; the test bound is 2e-5 relative to max |y|.
 */

import { vAdd, vMulAdd, vSplat, vSub, vZero } from "./lib/simd";

/** Tiles per block: a multiple of 4 (the register tile), V and M of a block in L2 for C, K <= 64. */
const TILES = 32;

/** G (6 x 3) of F(4x4, 3x3), rows at 3*i. */
const G: StaticArray<f64> = [
  1.0 / 4, 0, 0,
  -1.0 / 6, -1.0 / 6, -1.0 / 6,
  -1.0 / 6, 1.0 / 6, -1.0 / 6,
  1.0 / 24, 1.0 / 12, 1.0 / 6,
  1.0 / 24, -1.0 / 12, 1.0 / 6,
  0, 0, 1,
];

export function winogradFilterF32(w: usize, c: i32, k: i32, u: usize): void {
  if (c < 1 || k < 1) abort("winogradFilterF32 needs C, K >= 1");
  const plane = <usize>c * <usize>k;
  const t = new StaticArray<f64>(18); // G w of one (c, k)
  for (let ci = 0; ci < c; ci++) {
    for (let ko = 0; ko < k; ko++) {
      const at = <usize>ci * <usize>k + <usize>ko;
      // t = G w (6 x 3), then u = t G^T (6 x 6), in f64.
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 3; j++) {
          let s: f64 = 0;
          for (let q = 0; q < 3; q++) s += G[3 * i + q] * <f64>load<f32>(w + ((<usize>(3 * q + j)) * plane + at) * 4);
          t[3 * i + j] = s;
        }
      }
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 6; j++) {
          const s = t[3 * i] * G[3 * j] + t[3 * i + 1] * G[3 * j + 1] + t[3 * i + 2] * G[3 * j + 2];
          store<f32>(u + (<usize>(6 * i + j) * plane + at) * 4, <f32>s);
        }
      }
    }
  }
}

/** B^T applied to six vectors at p, p + step, ..., written at q, q + qstep, ... */
@inline function inputTransform6(p: usize, step: usize, q: usize, qstep: usize): void {
  const d0 = v128.load(p);
  const d1 = v128.load(p + step);
  const d2 = v128.load(p + 2 * step);
  const d3 = v128.load(p + 3 * step);
  const d4 = v128.load(p + 4 * step);
  const d5 = v128.load(p + 5 * step);
  const four = vSplat<f32>(4);
  const five = vSplat<f32>(5);
  const two = vSplat<f32>(2);
  // r1 = -4(d1 + d2) + d3 + d4, r2 = 4(d1 - d2) + d4 - d3, r3 = -2(d1 - d3) + d4 - d2, r4 = 2(d1 - d3) + d4 - d2.
  const s34 = vAdd<f32>(d3, d4);
  const t12 = vAdd<f32>(d1, d2);
  const u12 = vSub<f32>(d1, d2);
  const m43 = vSub<f32>(d4, d3);
  const m42 = vSub<f32>(d4, d2);
  const v13 = f32x4.mul(two, vSub<f32>(d1, d3));
  v128.store(q, vAdd<f32>(vSub<f32>(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4));
  v128.store(q + qstep, vSub<f32>(s34, f32x4.mul(four, t12)));
  v128.store(q + 2 * qstep, vMulAdd<f32>(m43, four, u12));
  v128.store(q + 3 * qstep, vSub<f32>(m42, v13));
  v128.store(q + 4 * qstep, vAdd<f32>(m42, v13));
  v128.store(q + 5 * qstep, vAdd<f32>(vSub<f32>(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5));
}

/** A^T applied to six vectors at p, p + step, ..., four written at q, q + qstep, ... */
@inline function outputTransform6(p: usize, step: usize, q: usize, qstep: usize): void {
  const m0 = v128.load(p);
  const m1 = v128.load(p + step);
  const m2 = v128.load(p + 2 * step);
  const m3 = v128.load(p + 3 * step);
  const m4 = v128.load(p + 4 * step);
  const m5 = v128.load(p + 5 * step);
  const s12 = vAdd<f32>(m1, m2);
  const d12 = vSub<f32>(m1, m2);
  const s34 = vAdd<f32>(m3, m4);
  const d34 = vSub<f32>(m3, m4);
  v128.store(q, vAdd<f32>(vAdd<f32>(m0, s12), s34));
  v128.store(q + qstep, vMulAdd<f32>(d12, vSplat<f32>(2), d34));
  v128.store(q + 2 * qstep, vMulAdd<f32>(s12, vSplat<f32>(4), s34));
  v128.store(q + 3 * qstep, vAdd<f32>(vMulAdd<f32>(d12, vSplat<f32>(8), d34), m5));
}

export function winogradConv3x3F32(
  x: usize, batch: i32, h: i32, w: i32, c: i32, u: usize, k: i32, bias: usize, relu: i32, y: usize,
): void {
  if (batch < 0 || h < 1 || w < 1 || c < 4 || (c & 3) != 0 || k < 8 || (k & 7) != 0) {
    abort("winogradConv3x3F32 needs B >= 0, H, W >= 1, C a multiple of 4, K a multiple of 8");
  }
  const th = (h + 3) >> 2;
  const tw = (w + 3) >> 2;
  const tiles = batch * th * tw;
  if (tiles == 0) return;
  const cz = <usize>c;
  const kz = <usize>k;
  const vBytes = <usize>36 * TILES * cz * 4;
  const mBytes = <usize>36 * TILES * kz * 4;
  // V, M, the 6 x 6 vectors of one transform (the output's 4 x 6 and 4 x 4 after them: 40 vectors), and
  // the addresses of one 6 x 6 input patch.
  const scratch = heap.alloc(vBytes + mBytes + 40 * 16 + 36 * sizeof<usize>());
  const vBlock = scratch;
  const mBlock = scratch + vBytes;
  const tmp = mBlock + mBytes;
  const patch = tmp + 40 * 16;
  memory.fill(vBlock, 0, vBytes); // the unused tiles of a last, short block
  const pixel = cz * 4; // bytes per input pixel
  const rowBytes = <usize>w * pixel;
  const imageBytes = <usize>h * rowBytes;
  const outPixel = kz * 4;
  const outRow = <usize>w * outPixel;
  const outImage = <usize>h * outRow;
  const vPoint = <usize>TILES * cz * 4; // bytes between consecutive xi in V
  const mPoint = <usize>TILES * kz * 4;
  const uPoint = cz * kz * 4;

  for (let first = 0; first < tiles; first += TILES) {
    const count = min(TILES, tiles - first);
    // Input transform.
    for (let t = 0; t < count; t++) {
      const tile = first + t;
      const b = tile / (th * tw);
      const rem = tile - b * th * tw;
      const r0 = (rem / tw) * 4 - 1;
      const s0 = (rem % tw) * 4 - 1;
      const image = x + <usize>b * imageBytes;
      for (let i = 0; i < 6; i++) {
        const r = r0 + i;
        for (let j = 0; j < 6; j++) {
          const s = s0 + j;
          store<usize>(patch + <usize>(6 * i + j) * sizeof<usize>(), r >= 0 && r < h && s >= 0 && s < w ? image + <usize>r * rowBytes + <usize>s * pixel : 0);
        }
      }
      for (let cg: usize = 0; cg < cz; cg += 4) {
        // tmp[i][j] = d[i][j], zero outside the image; then columns, then rows through B^T.
        for (let e = 0; e < 36; e++) {
          const p = load<usize>(patch + <usize>e * sizeof<usize>());
          v128.store(tmp + <usize>e * 16, p != 0 ? v128.load(p + cg * 4) : vZero());
        }
        for (let j: usize = 0; j < 6; j++) inputTransform6(tmp + j * 16, 96, tmp + j * 16, 96);
        const dst = vBlock + (<usize>t * cz + cg) * 4;
        for (let i: usize = 0; i < 6; i++) inputTransform6(tmp + i * 96, 16, dst + i * 6 * vPoint, vPoint);
      }
    }
    // 36 products M[xi] = V[xi] U[xi], 4 tiles x 8 outputs at a time.
    const groups = (count + 3) >> 2;
    for (let xi: usize = 0; xi < 36; xi++) {
      const vx = vBlock + xi * vPoint;
      const mx = mBlock + xi * mPoint;
      const ux = u + xi * uPoint;
      for (let ko: usize = 0; ko < kz; ko += 8) {
        for (let g = 0; g < groups; g++) {
          const v0 = vx + <usize>(4 * g) * cz * 4;
          const rowV = cz * 4;
          let a00 = vZero(), a01 = vZero(), a10 = vZero(), a11 = vZero();
          let a20 = vZero(), a21 = vZero(), a30 = vZero(), a31 = vZero();
          let up = ux + ko * 4;
          for (let ci: usize = 0; ci < cz; ci++) {
            const u0 = v128.load(up);
            const u1 = v128.load(up, 16);
            const p = v0 + ci * 4;
            let e = v128.load32_splat(p);
            a00 = vMulAdd<f32>(a00, e, u0);
            a01 = vMulAdd<f32>(a01, e, u1);
            e = v128.load32_splat(p + rowV);
            a10 = vMulAdd<f32>(a10, e, u0);
            a11 = vMulAdd<f32>(a11, e, u1);
            e = v128.load32_splat(p + 2 * rowV);
            a20 = vMulAdd<f32>(a20, e, u0);
            a21 = vMulAdd<f32>(a21, e, u1);
            e = v128.load32_splat(p + 3 * rowV);
            a30 = vMulAdd<f32>(a30, e, u0);
            a31 = vMulAdd<f32>(a31, e, u1);
            up += kz * 4;
          }
          const out = mx + (<usize>(4 * g) * kz + ko) * 4;
          const rowM = kz * 4;
          v128.store(out, a00);
          v128.store(out, a01, 16);
          v128.store(out + rowM, a10);
          v128.store(out + rowM, a11, 16);
          v128.store(out + 2 * rowM, a20);
          v128.store(out + 2 * rowM, a21, 16);
          v128.store(out + 3 * rowM, a30);
          v128.store(out + 3 * rowM, a31, 16);
        }
      }
    }
    // Output transform, bias, ReLU, store of the pixels inside the image.
    for (let t = 0; t < count; t++) {
      const tile = first + t;
      const b = tile / (th * tw);
      const rem = tile - b * th * tw;
      const r0 = (rem / tw) * 4;
      const s0 = (rem % tw) * 4;
      const rows = min(4, h - r0);
      const cols = min(4, w - s0);
      const image = y + <usize>b * outImage + <usize>r0 * outRow + <usize>s0 * outPixel;
      for (let kg: usize = 0; kg < kz; kg += 4) {
        const src = mBlock + (<usize>t * kz + kg) * 4;
        // Columns j: A^T over i (rows of M), into tmp[i'][j] (4 x 6), then rows i': A^T over j.
        for (let j: usize = 0; j < 6; j++) outputTransform6(src + j * mPoint, 6 * mPoint, tmp + j * 16, 96);
        for (let i: usize = 0; i < 4; i++) outputTransform6(tmp + i * 96, 16, tmp + 384 + i * 64, 16);
        const shift = bias != 0 ? v128.load(bias + kg * 4) : vZero();
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) {
            let v = vAdd<f32>(v128.load(tmp + 384 + <usize>(4 * i + j) * 16), shift);
            if (relu != 0) v = f32x4.max(v, vZero());
            v128.store(image + <usize>i * outRow + <usize>j * outPixel + kg * 4, v);
          }
        }
      }
    }
  }
  heap.free(scratch);
}
