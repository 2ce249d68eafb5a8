/**
 * 3x3 convolution products (padding 1, no bias) in SIMD WebAssembly, f64 and f32: the linear maps
 * W and W^T of a ResNet convolution applied to blocks of k vectors.
 *
 * Layouts at the boundary (all exported `conv3x3*` routines):
 * - A tensor is C x H x W row-major (PyTorch order). A block of k vectors is k x (C*H*W) row-major,
 *   vector-major: vector i occupies elements [i*n, (i+1)*n), n = C*H*W.
 * - Weights are OIHW row-major: W[o, i, dy, dx] at ((o*C_in + i)*3 + dy)*3 + dx.
 * - Output size (PyTorch, kernel 3, padding 1, stride s): H_out = floor((H_in - 1)/s) + 1.
 *
 * Internal layout: the "panel". The k vectors are processed a few at a time, transposed so that the
 * block index is innermost: a panel holds, for every pixel (c, y, x), `lanes` consecutive values (one
 * per vector of the block), i.e. one pixel is NV v128 registers (NV in {1, 2, 4, 8}, "pixel bytes"
 * = 16*NV). Vectorizing along the block instead of along W makes every pixel an independent SIMD
 * unit, so
 *   - a masked-out output pixel (ReLU derivative 0) is simply skipped, which halves the work of the
 *     residual-unit Jacobian products (unit.ts), and
 *   - border handling needs no lane shuffles: a panel stores a one-pixel zero border around every
 *     channel plane (C x (H+2) x (W+2) pixels), so every 3x3 window is in bounds.
 * A convolution is then a gather: each output pixel is sum_t w_t * in[base + offset_t] over a list of
 * taps (input channel, row, column) whose byte offsets are tabulated once per call; the micro-kernels
 * keep 8 accumulators in registers, 2 output channels x 4 registers of a pixel (4 x 2 for 2-register
 * panels), so each tap costs 2 (or 4) weight splats + 4 (or 2) pixel loads for 8 (mul, add): more
 * accumulators than 8 spill in V8, which gives WASM 15 xmm registers on x64. When the source
 * is known to be zero on a mask (ReLU derivative 0 upstream), each pixel's tap list is first
 * compacted to the active taps, which halves the work again. Masks are never branched on per pixel
 * (random masks would mispredict half the time): channel and tap lists are built branch-free.
 * WASM SIMD has no fused multiply-add (without relaxed-simd), so products are rounded before they
 * are added.
 *
 * Accuracy: every output value is a sum of at most 9*C_in products (9*C_out for W^T) accumulated in
 * working precision, so |computed - exact| <= gamma_{9C} * sum |w| |x|, gamma_m ~ m*eps (in practice
 * ~sqrt(m)*eps). The order of summation is the tap order (input channel, kernel row, kernel column)
 * for panels of 4 and 8 registers and for 2-register panels in groups of four output channels; the
 * other output channels of 2-register panels and the 1-register panels (the last few vectors of a
 * block, and k = 1) sum in 2 or 4 interleaved partial sums, so a vector's result may differ in the
 * last bits with its position in the block.
 *
 * The exported `convPanel*` routines expose the panel layout to the residual-unit operator (unit.ts)
 * and to other WASM code; they take the element size (8 or 4) instead of a type suffix so that the
 * generic code stays internal to this file.
 */

import { lanesOf, vAdd, vMul, vSplatLoad, vZero } from "./lib/simd";

// ---------------------------------------------------------------------------------------------------
// Panel geometry

/** Output size of a 3x3, padding-1 convolution with the given stride (PyTorch's formula). */
export function conv3x3OutputSize(size: i32, stride: i32): i32 {
  return (size - 1) / stride + 1;
}

/**
 * Byte distance between consecutive channel planes of a panel: (h+2) x (w+2) padded pixels of
 * `pixelBytes` each. (Padding planes to odd cache-line counts against L1 set aliasing was tried and
 * measured no difference.)
 */
export function convPanelPlaneBytes(h: i32, w: i32, pixelBytes: i32): usize {
  return <usize>(h + 2) * <usize>(w + 2) * <usize>pixelBytes;
}

/**
 * Bytes of a panel holding `c` channels of `h` x `w` pixels (plus the one-pixel zero border) with
 * `pixelBytes` (= 16*NV) bytes per pixel.
 */
export function convPanelBytes(c: i32, h: i32, w: i32, pixelBytes: i32): usize {
  return <usize>c * convPanelPlaneBytes(h, w, pixelBytes);
}

/**
 * Number of v128 registers per pixel (NV) for a panel that should take the next `columns` vectors of
 * a block: 8 while at least 8 registers' worth remain (the fast micro-kernel), then 4, 2, 1 for the
 * ragged tail, so that at most one register of zero padding is computed per block.
 */
export function convPanelVectors(columns: i32, elementSize: i32): i32 {
  const lanes = 16 / elementSize;
  const registers = (columns + lanes - 1) / lanes;
  return registers >= 8 ? 8 : registers >= 4 ? 4 : registers >= 2 ? 2 : 1;
}

/** Zero the one-pixel border of every channel plane of a panel (the interior is left alone). */
export function convPanelZeroBorder(panel: usize, c: i32, h: i32, w: i32, pixelBytes: i32): void {
  const pix = <usize>pixelBytes;
  const rowBytes = <usize>(w + 2) * pix;
  const planeBytes = convPanelPlaneBytes(h, w, pixelBytes);
  for (let ch = 0; ch < c; ch++) {
    const plane = panel + <usize>ch * planeBytes;
    memory.fill(plane, 0, rowBytes);
    memory.fill(plane + <usize>(h + 1) * rowBytes, 0, rowBytes);
    for (let y = 1; y <= h; y++) {
      const row = plane + <usize>y * rowBytes;
      memory.fill(row, 0, pix);
      memory.fill(row + <usize>(w + 1) * pix, 0, pix);
    }
  }
}

// 4x4 (f32) and 2x2 (f64) register transposes: lane i of output j = lane j of input i. They turn L
// consecutive values of L vectors into L pixels' worth of lanes (pack) and back (unpack).
@inline function transpose4a(r0: v128, r1: v128): v128 { return v128.shuffle<i32>(r0, r1, 0, 4, 1, 5); }
@inline function transpose4b(r0: v128, r1: v128): v128 { return v128.shuffle<i32>(r0, r1, 2, 6, 3, 7); }
@inline function low64(a: v128, b: v128): v128 { return v128.shuffle<i64>(a, b, 0, 2); }
@inline function high64(a: v128, b: v128): v128 { return v128.shuffle<i64>(a, b, 1, 3); }

/** The v128 `v` where mask byte m is nonzero, else zero. */
@inline function keepIf(v: v128, m: usize): v128 {
  return load<u8>(m) != 0 ? v : vZero();
}

/**
 * Pack vectors col0 .. col0+columns-1 of a vector-major block (each of length c*h*w) into the
 * interior of a panel; panel lanes past `columns` are zero. With `mask` != 0 (u8, length c*h*w,
 * nonzero = keep) masked-out values are stored as zero, which applies diag(mask) on the way in.
 * Each v128 of a pixel is filled by an in-register transpose of L = 16/sizeof(T) source vectors
 * times L consecutive pixels; ragged image widths finish with scalar code.
 */
function packPanel<T>(
  src: usize, col0: i32, columns: i32, c: i32, h: i32, w: i32, pixelBytes: i32, mask: usize, panel: usize,
): void {
  const size = <usize>sizeof<T>();
  const L = 16 / <i32>size;
  const pix = <usize>pixelBytes;
  const groups = pixelBytes >> 4;
  const n = <usize>c * <usize>h * <usize>w;
  const rowBytes = <usize>(w + 2) * pix;
  const planeBytes = convPanelPlaneBytes(h, w, pixelBytes);
  const zero = vZero();
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const seg = panel + <usize>ch * planeBytes + <usize>(y + 1) * rowBytes + pix;
      const j0 = (<usize>ch * <usize>h + <usize>y) * <usize>w;
      const m = mask + j0;
      for (let g = 0; g < groups; g++) {
        const c0 = g * L;
        const dg = seg + (<usize>g << 4);
        // Source rows of this group's L columns; 0 marks a column past the block (zero lanes).
        const s0 = c0 < columns ? src + (<usize>(col0 + c0) * n + j0) * size : 0;
        const s1 = c0 + 1 < columns ? src + (<usize>(col0 + c0 + 1) * n + j0) * size : 0;
        const s2 = L == 4 && c0 + 2 < columns ? src + (<usize>(col0 + c0 + 2) * n + j0) * size : 0;
        const s3 = L == 4 && c0 + 3 < columns ? src + (<usize>(col0 + c0 + 3) * n + j0) * size : 0;
        let x = 0;
        for (; x + L <= w; x += L) {
          const off = <usize>x * size;
          const r0 = s0 ? v128.load(s0 + off) : zero;
          const r1 = s1 ? v128.load(s1 + off) : zero;
          const d = dg + <usize>x * pix;
          if (sizeof<T>() == 8) {
            let p0 = low64(r0, r1), p1 = high64(r0, r1);
            if (mask) {
              p0 = keepIf(p0, m + <usize>x);
              p1 = keepIf(p1, m + <usize>x + 1);
            }
            v128.store(d, p0);
            v128.store(d + pix, p1);
          } else {
            const r2 = s2 ? v128.load(s2 + off) : zero;
            const r3 = s3 ? v128.load(s3 + off) : zero;
            const t0 = transpose4a(r0, r1), t1 = transpose4b(r0, r1);
            const t2 = transpose4a(r2, r3), t3 = transpose4b(r2, r3);
            let p0 = low64(t0, t2), p1 = high64(t0, t2), p2 = low64(t1, t3), p3 = high64(t1, t3);
            if (mask) {
              p0 = keepIf(p0, m + <usize>x);
              p1 = keepIf(p1, m + <usize>x + 1);
              p2 = keepIf(p2, m + <usize>x + 2);
              p3 = keepIf(p3, m + <usize>x + 3);
            }
            v128.store(d, p0);
            v128.store(d + pix, p1);
            v128.store(d + 2 * pix, p2);
            v128.store(d + 3 * pix, p3);
          }
        }
        for (; x < w; x++) {
          const keep = mask == 0 || load<u8>(m + <usize>x) != 0;
          for (let l = 0; l < L; l++) {
            const col = c0 + l;
            let v = <T>0;
            if (keep && col < columns) v = load<T>(src + (<usize>(col0 + col) * n + j0 + <usize>x) * size);
            store<T>(dg + <usize>x * pix + <usize>l * size, v);
          }
        }
      }
    }
  }
}

/**
 * Unpack the first `columns` lanes of a panel's interior into vectors col0.. of a vector-major block
 * (the inverse transposes of packPanel).
 */
function unpackPanel<T>(
  panel: usize, c: i32, h: i32, w: i32, pixelBytes: i32, col0: i32, columns: i32, dst: usize,
): void {
  const size = <usize>sizeof<T>();
  const L = 16 / <i32>size;
  const pix = <usize>pixelBytes;
  const groups = min(pixelBytes >> 4, (columns + L - 1) / L);
  const n = <usize>c * <usize>h * <usize>w;
  const rowBytes = <usize>(w + 2) * pix;
  const planeBytes = convPanelPlaneBytes(h, w, pixelBytes);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const seg = panel + <usize>ch * planeBytes + <usize>(y + 1) * rowBytes + pix;
      const j0 = (<usize>ch * <usize>h + <usize>y) * <usize>w;
      for (let g = 0; g < groups; g++) {
        const c0 = g * L;
        const sg = seg + (<usize>g << 4);
        const d0 = dst + (<usize>(col0 + c0) * n + j0) * size;
        const d1 = c0 + 1 < columns ? d0 + n * size : 0;
        const d2 = L == 4 && c0 + 2 < columns ? d0 + 2 * n * size : 0;
        const d3 = L == 4 && c0 + 3 < columns ? d0 + 3 * n * size : 0;
        let x = 0;
        for (; x + L <= w; x += L) {
          const off = <usize>x * size;
          const s = sg + <usize>x * pix;
          const p0 = v128.load(s), p1 = v128.load(s + pix);
          if (sizeof<T>() == 8) {
            v128.store(d0 + off, low64(p0, p1));
            if (d1) v128.store(d1 + off, high64(p0, p1));
          } else {
            const p2 = v128.load(s + 2 * pix), p3 = v128.load(s + 3 * pix);
            const t0 = transpose4a(p0, p1), t1 = transpose4b(p0, p1);
            const t2 = transpose4a(p2, p3), t3 = transpose4b(p2, p3);
            v128.store(d0 + off, low64(t0, t2));
            if (d1) v128.store(d1 + off, high64(t0, t2));
            if (d2) v128.store(d2 + off, low64(t1, t3));
            if (d3) v128.store(d3 + off, high64(t1, t3));
          }
        }
        for (; x < w; x++) {
          for (let l = 0; l < L && c0 + l < columns; l++) {
            store<T>(d0 + (<usize>l * n + <usize>x) * size, load<T>(sg + <usize>x * pix + <usize>l * size));
          }
        }
      }
    }
  }
}

/**
 * Pack vectors col0 .. col0+columns-1 of a vector-major block of c x h x w tensors into a panel
 * (interior only; call convPanelZeroBorder for the border). elementSize is 8 (f64) or 4 (f32);
 * `mask` (u8, c*h*w, or 0 for none) zeroes masked-out values while packing.
 */
export function convPanelPack(
  elementSize: i32, src: usize, col0: i32, columns: i32, c: i32, h: i32, w: i32, pixelBytes: i32,
  mask: usize, panel: usize,
): void {
  if (elementSize == 8) packPanel<f64>(src, col0, columns, c, h, w, pixelBytes, mask, panel);
  else packPanel<f32>(src, col0, columns, c, h, w, pixelBytes, mask, panel);
}

/** Unpack the first `columns` lanes of a panel into vectors col0.. of a vector-major block. */
export function convPanelUnpack(
  elementSize: i32, panel: usize, c: i32, h: i32, w: i32, pixelBytes: i32, col0: i32, columns: i32, dst: usize,
): void {
  if (elementSize == 8) unpackPanel<f64>(panel, c, h, w, pixelBytes, col0, columns, dst);
  else unpackPanel<f32>(panel, c, h, w, pixelBytes, col0, columns, dst);
}

// ---------------------------------------------------------------------------------------------------
// Tap tables, source masks and weight layouts

/**
 * Tap table of a gather window over a padded source of `channels` x h x w pixels: entry t, in
 * (channel, r < rows, q < cols) order -- the order in which the matching weights are stored -- is
 * the pair (u32 byte offset of the tap's pixel relative to the window's top-left pixel of channel 0,
 * u32 byte offset t*elementSize of its weight). maskOffsets[t] (u32) is the tap's offset in a padded
 * u8 mask of the source (convPadMask: same geometry, one byte per pixel). Returns the number of taps.
 */
function buildTaps(
  taps: usize, maskOffsets: usize, channels: i32, h: i32, w: i32, pix: usize, elementSize: usize,
  rows: i32, cols: i32,
): i32 {
  const rowBytes = <usize>(w + 2) * pix, planeBytes = convPanelPlaneBytes(h, w, <i32>pix);
  const maskRow = <usize>(w + 2), maskPlane = <usize>(h + 2) * maskRow;
  let t: usize = 0;
  for (let ch = 0; ch < channels; ch++) {
    for (let r = 0; r < rows; r++) {
      for (let q = 0; q < cols; q++) {
        store<u32>(taps + (t << 3), <u32>(<usize>ch * planeBytes + <usize>r * rowBytes + <usize>q * pix));
        store<u32>(taps + (t << 3), <u32>(t * elementSize), 4);
        store<u32>(maskOffsets + (t << 2), <u32>(<usize>ch * maskPlane + <usize>r * maskRow + <usize>q));
        t++;
      }
    }
  }
  return <i32>t;
}

/**
 * CONVPADMASK: copy a u8 mask of c x h x w pixels into the padded geometry of a panel,
 * out[c, y+1, x+1] = (mask[c, y, x] != 0) with a zero border (out: c*(h+2)*(w+2) bytes). Passed as
 * the source mask of convPanelForward / convPanelTranspose, it lets them skip the taps that read
 * masked-out (known zero) source pixels.
 */
export function convPadMask(mask: usize, c: i32, h: i32, w: i32, out: usize): void {
  const row = <usize>(w + 2);
  memory.fill(out, 0, <usize>c * <usize>(h + 2) * row);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const s = mask + (<usize>ch * <usize>h + <usize>y) * <usize>w;
      const d = out + (<usize>ch * <usize>(h + 2) + <usize>(y + 1)) * row + 1;
      for (let x = 0; x < w; x++) store<u8>(d + <usize>x, load<u8>(s + <usize>x) != 0 ? 1 : 0);
    }
  }
}

/**
 * Element offsets (in units of C_in*C_out) of the four stride-2 parity classes inside a prepared
 * transposed weight array; class (py, px) has (1+py)*(1+px) taps per channel pair, 9 in total.
 */
@inline function parityClassOffset(py: i32, px: i32): i32 {
  return py == 0 ? (px == 0 ? 0 : 1) : (px == 0 ? 3 : 5);
}

/** Kernel row (or column) index used by tap r of the stride-2 parity class p (see prepareTransposeWeights). */
@inline function parityTap(p: i32, r: i32): i32 {
  return p == 0 ? 1 : (r == 0 ? 2 : 0);
}

/**
 * Rearrange OIHW weights of the map W (C_in -> C_out, stride s) into gather weights of W^T.
 *
 * Stride 1: W^T is again a 3x3 convolution, C_out -> C_in, with the kernel flipped:
 *   (W^T g)[i, y, x] = sum_{o, ey, ex} W[o, i, 2-ey, 2-ex] g[o, y-1+ey, x-1+ex],
 * stored as out[(i*C_out + o)*9 + 3*ey + ex].
 * Stride 2: output pixel (i, y, x) of W^T receives g[o, oy, ox] through kernel row dy iff
 * y = 2*oy + dy - 1. For even y only dy = 1 (oy = y/2) contributes; for odd y, dy = 2 (oy = (y-1)/2)
 * and dy = 0 (oy = (y+1)/2), two consecutive rows. So each parity class (py, px) of (y, x) is a
 * dense gather over a (1+py) x (1+px) window whose top-left is g[o, y>>1, x>>1], with weights
 * out[off + ((i*C_out + o)*(1+py) + r)*(1+px) + q] = W[o, i, parityTap(py, r), parityTap(px, q)],
 * off = parityClassOffset(py, px)*C_in*C_out. Both layouts take 9*C_in*C_out elements.
 */
function prepareTransposeWeights<T>(weight: usize, cIn: i32, cOut: i32, stride: i32, out: usize): void {
  const size = <usize>sizeof<T>();
  for (let o = 0; o < cOut; o++) {
    for (let i = 0; i < cIn; i++) {
      const src = weight + <usize>((o * cIn + i) * 9) * size;
      if (stride == 1) {
        const dst = out + <usize>((i * cOut + o) * 9) * size;
        for (let t = 0; t < 9; t++) store<T>(dst + <usize>t * size, load<T>(src + <usize>(8 - t) * size));
      } else {
        for (let py = 0; py < 2; py++) {
          for (let px = 0; px < 2; px++) {
            const rows = 1 + py, cols = 1 + px;
            const dst = out + <usize>(parityClassOffset(py, px) * cIn * cOut + (i * cOut + o) * rows * cols) * size;
            for (let r = 0; r < rows; r++) {
              for (let q = 0; q < cols; q++) {
                const tap = parityTap(py, r) * 3 + parityTap(px, q);
                store<T>(dst + <usize>(r * cols + q) * size, load<T>(src + <usize>tap * size));
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Prepare the weights of W^T for convPanelTranspose from OIHW weights of W (C_in -> C_out, stride 1
 * or 2). `out` holds 9*C_in*C_out elements of the given size (8 or 4).
 */
export function conv3x3PrepareTransposeWeights(
  elementSize: i32, weight: usize, cIn: i32, cOut: i32, stride: i32, out: usize,
): void {
  if (stride != 1 && stride != 2) abort("conv3x3 transpose: stride must be 1 or 2");
  if (elementSize == 8) prepareTransposeWeights<f64>(weight, cIn, cOut, stride, out);
  else prepareTransposeWeights<f32>(weight, cIn, cOut, stride, out);
}

// ---------------------------------------------------------------------------------------------------
// Micro-kernels: dst pixel (NV v128) = sum over list entries e of
// weights[e.weightOffset] * pixel(base + e.pixelOffset).

/**
 * Two output channels at once: dst0 / dst1 (4 v128 each) = sums over the list of w0[e] * pixel and
 * w1[e] * pixel, pixel = the 4 registers at base + e.pixelOffset.
 * Eight accumulators, two weight splats and four pixel registers, plus the product, take 15 of V8's 15
 * allocatable xmm registers: the widest tile that does not spill inside the tap loop (one channel of 8
 * registers did: V8 loads all 8 pixel registers before the products, 17 live values). Each load now
 * feeds two multiply-adds. Per accumulator the taps are added in list order, as before.
 */
@inline function gather2x4<T>(
  count: i32, list: usize, w0: usize, w1: usize, base: usize, dst0: usize, dst1: usize,
): void {
  let a0 = vZero(), a1 = vZero(), a2 = vZero(), a3 = vZero();
  let b0 = vZero(), b1 = vZero(), b2 = vZero(), b3 = vZero();
  const end = list + (<usize>count << 3);
  for (let e = list; e < end; e += 8) {
    const p = base + <usize>load<u32>(e);
    const wo = <usize>load<u32>(e, 4);
    const s = vSplatLoad<T>(w0 + wo);
    const r = vSplatLoad<T>(w1 + wo);
    const x0 = v128.load(p), x1 = v128.load(p, 16), x2 = v128.load(p, 32), x3 = v128.load(p, 48);
    a0 = vAdd<T>(a0, vMul<T>(s, x0));
    b0 = vAdd<T>(b0, vMul<T>(r, x0));
    a1 = vAdd<T>(a1, vMul<T>(s, x1));
    b1 = vAdd<T>(b1, vMul<T>(r, x1));
    a2 = vAdd<T>(a2, vMul<T>(s, x2));
    b2 = vAdd<T>(b2, vMul<T>(r, x2));
    a3 = vAdd<T>(a3, vMul<T>(s, x3));
    b3 = vAdd<T>(b3, vMul<T>(r, x3));
  }
  v128.store(dst0, a0);
  v128.store(dst0, a1, 16);
  v128.store(dst0, a2, 32);
  v128.store(dst0, a3, 48);
  v128.store(dst1, b0);
  v128.store(dst1, b1, 16);
  v128.store(dst1, b2, 32);
  v128.store(dst1, b3, 48);
}

/**
 * One pixel of nv >= 4 registers for two output channels (weights w0, w1; destination pixels dst0,
 * dst1): in passes of 4 registers, each a 2-channel tile (gather2x4).
 */
@inline function gatherPair<T>(
  pix: usize, count: i32, list: usize, w0: usize, w1: usize, base: usize, dst0: usize, dst1: usize,
): void {
  for (let r: usize = 0; r < pix; r += 64) gather2x4<T>(count, list, w0, w1, base + r, dst0 + r, dst1 + r);
}

/** One channel of a pixel of nv >= 4 registers, in passes of 4 registers (gather4). */
@inline function gatherSingle<T>(pix: usize, count: i32, list: usize, w: usize, base: usize, dst: usize): void {
  for (let r: usize = 0; r < pix; r += 64) gather4<T>(count, list, w, base + r, dst + r);
}

function gather4<T>(count: i32, list: usize, weights: usize, base: usize, dst: usize): void {
  let a0 = vZero(), a1 = vZero(), a2 = vZero(), a3 = vZero();
  const end = list + (<usize>count << 3);
  for (let e = list; e < end; e += 8) {
    const p = base + <usize>load<u32>(e);
    const s = vSplatLoad<T>(weights + <usize>load<u32>(e, 4));
    a0 = vAdd<T>(a0, vMul<T>(s, v128.load(p)));
    a1 = vAdd<T>(a1, vMul<T>(s, v128.load(p, 16)));
    a2 = vAdd<T>(a2, vMul<T>(s, v128.load(p, 32)));
    a3 = vAdd<T>(a3, vMul<T>(s, v128.load(p, 48)));
  }
  v128.store(dst, a0);
  v128.store(dst, a1, 16);
  v128.store(dst, a2, 32);
  v128.store(dst, a3, 48);
}

/**
 * Four output channels of a 2-register pixel (nv = 2 panels): dst_c (2 v128) = sum over the list of
 * w_c[e] * pixel, c = 0..3. Eight accumulators, each a single chain in list order: 4 splats and 2 pixel
 * loads per 8 multiply-adds, against 1 splat and 2 loads per 2 in the one-channel kernel (gather2).
 */
@inline function gather4x2<T>(
  count: i32, list: usize, w0: usize, w1: usize, w2: usize, w3: usize, base: usize,
  dst0: usize, dst1: usize, dst2: usize, dst3: usize,
): void {
  let a0 = vZero(), a1 = vZero(), b0 = vZero(), b1 = vZero();
  let c0 = vZero(), c1 = vZero(), d0 = vZero(), d1 = vZero();
  const end = list + (<usize>count << 3);
  for (let e = list; e < end; e += 8) {
    const p = base + <usize>load<u32>(e);
    const wo = <usize>load<u32>(e, 4);
    const x0 = v128.load(p), x1 = v128.load(p, 16);
    let s = vSplatLoad<T>(w0 + wo);
    a0 = vAdd<T>(a0, vMul<T>(s, x0));
    a1 = vAdd<T>(a1, vMul<T>(s, x1));
    s = vSplatLoad<T>(w1 + wo);
    b0 = vAdd<T>(b0, vMul<T>(s, x0));
    b1 = vAdd<T>(b1, vMul<T>(s, x1));
    s = vSplatLoad<T>(w2 + wo);
    c0 = vAdd<T>(c0, vMul<T>(s, x0));
    c1 = vAdd<T>(c1, vMul<T>(s, x1));
    s = vSplatLoad<T>(w3 + wo);
    d0 = vAdd<T>(d0, vMul<T>(s, x0));
    d1 = vAdd<T>(d1, vMul<T>(s, x1));
  }
  v128.store(dst0, a0); v128.store(dst0, a1, 16);
  v128.store(dst1, b0); v128.store(dst1, b1, 16);
  v128.store(dst2, c0); v128.store(dst2, c1, 16);
  v128.store(dst3, d0); v128.store(dst3, d1, 16);
}

function gather2<T>(count: i32, list: usize, weights: usize, base: usize, dst: usize): void {
  // Two independent partial sums per register hide the add latency when there is only one pair.
  let a0 = vZero(), a1 = vZero(), b0 = vZero(), b1 = vZero();
  const end = list + (<usize>count << 3);
  let e = list;
  for (; e + 8 < end; e += 16) {
    const p = base + <usize>load<u32>(e);
    const s = vSplatLoad<T>(weights + <usize>load<u32>(e, 4));
    const q = base + <usize>load<u32>(e, 8);
    const r = vSplatLoad<T>(weights + <usize>load<u32>(e, 12));
    a0 = vAdd<T>(a0, vMul<T>(s, v128.load(p)));
    a1 = vAdd<T>(a1, vMul<T>(s, v128.load(p, 16)));
    b0 = vAdd<T>(b0, vMul<T>(r, v128.load(q)));
    b1 = vAdd<T>(b1, vMul<T>(r, v128.load(q, 16)));
  }
  if (e < end) {
    const p = base + <usize>load<u32>(e);
    const s = vSplatLoad<T>(weights + <usize>load<u32>(e, 4));
    a0 = vAdd<T>(a0, vMul<T>(s, v128.load(p)));
    a1 = vAdd<T>(a1, vMul<T>(s, v128.load(p, 16)));
  }
  v128.store(dst, vAdd<T>(a0, b0));
  v128.store(dst, vAdd<T>(a1, b1), 16);
}

function gather1<T>(count: i32, list: usize, weights: usize, base: usize, dst: usize): void {
  // Four independent partial sums (entries e mod 4) break the dependency chain of a single register.
  let a0 = vZero(), a1 = vZero(), a2 = vZero(), a3 = vZero();
  const end = list + (<usize>count << 3);
  let e = list;
  for (; e + 24 < end; e += 32) {
    a0 = vAdd<T>(a0, vMul<T>(vSplatLoad<T>(weights + <usize>load<u32>(e, 4)), v128.load(base + <usize>load<u32>(e))));
    a1 = vAdd<T>(a1, vMul<T>(vSplatLoad<T>(weights + <usize>load<u32>(e, 12)), v128.load(base + <usize>load<u32>(e, 8))));
    a2 = vAdd<T>(a2, vMul<T>(vSplatLoad<T>(weights + <usize>load<u32>(e, 20)), v128.load(base + <usize>load<u32>(e, 16))));
    a3 = vAdd<T>(a3, vMul<T>(vSplatLoad<T>(weights + <usize>load<u32>(e, 28)), v128.load(base + <usize>load<u32>(e, 24))));
  }
  for (; e < end; e += 8) {
    a0 = vAdd<T>(a0, vMul<T>(vSplatLoad<T>(weights + <usize>load<u32>(e, 4)), v128.load(base + <usize>load<u32>(e))));
  }
  v128.store(dst, vAdd<T>(vAdd<T>(a0, a1), vAdd<T>(a2, a3)));
}

// ---------------------------------------------------------------------------------------------------
// Gather driver

/**
 * dst[co, y, x] = dstMask[co, y, x] ? sum_t weights[co*nTaps + t] * src[window(y, x) + taps[t]] : 0
 * for y = y0, y0+yStep, ... < dstH (iteration i) and x = x0, x0+xStep, ... < dstW (iteration j),
 * where window(y, x) is the padded source pixel (srcY0 + i*srcDY, srcX0 + j*srcDX) of channel 0.
 * dst is a padded panel of dstC x dstH x dstW; only the visited interior pixels are written.
 * With srcMask != 0 (padded u8 mask of the source, convPadMask) the taps whose source pixel is
 * masked out are dropped from each pixel's list first: they would only add exact zeros, so the
 * values are unchanged and the work drops with the mask's density.
 */
function gatherConv<T>(
  nv: i32, src: usize, srcRowBytes: usize, taps: usize, maskOffsets: usize, nTaps: i32, weights: usize,
  dst: usize, dstC: i32, dstH: i32, dstW: i32, dstMask: usize, srcMask: usize, srcMaskRow: usize,
  y0: i32, yStep: i32, x0: i32, xStep: i32, srcY0: i32, srcDY: i32, srcX0: i32, srcDX: i32,
): void {
  const pix = <usize>nv << 4;
  const dstRowBytes = <usize>(dstW + 2) * pix;
  const dstPlaneBytes = convPanelPlaneBytes(dstH, dstW, nv << 4);
  const weightStride = <usize>nTaps * sizeof<T>();
  const maskPlane = <usize>dstH * <usize>dstW;
  const zero = vZero();
  const compact = srcMask ? heap.alloc(<usize>nTaps << 3) : 0;
  const activeList = heap.alloc(<usize>dstC << 2);
  const inactiveList = heap.alloc(<usize>dstC << 2);
  for (let i = 0, y = y0; y < dstH; i++, y += yStep) {
    const sy = srcY0 + i * srcDY;
    const srcRow = src + <usize>sy * srcRowBytes;
    for (let j = 0, x = x0; x < dstW; j++, x += xStep) {
      const sx = srcX0 + j * srcDX;
      const base = srcRow + <usize>sx * pix;
      let list = taps;
      let count = nTaps;
      if (srcMask) {
        // Branch-free compaction: every entry is written, the cursor only advances past active ones.
        const mb = srcMask + <usize>sy * srcMaskRow + <usize>sx;
        let c: usize = 0;
        for (let t: usize = 0; t < <usize>nTaps; t++) {
          store<u64>(compact + (c << 3), load<u64>(taps + (t << 3)));
          c += <usize>load<u8>(mb + <usize>load<u32>(maskOffsets + (t << 2)));
        }
        list = compact;
        count = <i32>c;
      }
      const d0 = dst + <usize>(y + 1) * dstRowBytes + <usize>(x + 1) * pix;
      if (dstMask == 0) {
        let d = d0, w = weights;
        let co = 0;
        if (nv >= 4) {
          // Output channels in pairs (2-channel register tiles), an odd last one alone.
          for (; co + 1 < dstC; co += 2, d += 2 * dstPlaneBytes, w += 2 * weightStride) {
            gatherPair<T>(pix, count, list, w, w + weightStride, base, d, d + dstPlaneBytes);
          }
          if (co < dstC) gatherSingle<T>(pix, count, list, w, base, d);
        } else {
          // 2-register panels: output channels in fours, the last one to three alone.
          const ds = dstPlaneBytes, ws = weightStride;
          if (nv == 2) {
            for (; co + 3 < dstC; co += 4, d += 4 * ds, w += 4 * ws) {
              gather4x2<T>(count, list, w, w + ws, w + 2 * ws, w + 3 * ws, base, d, d + ds, d + 2 * ds, d + 3 * ds);
            }
          }
          for (; co < dstC; co++, d += dstPlaneBytes, w += weightStride) {
            if (nv == 2) gather2<T>(count, list, w, base, d);
            else gather1<T>(count, list, w, base, d);
          }
        }
      } else {
        // Split the channels into active and masked-out lists without branching on the mask (a
        // random mask would mispredict half the time); zero the masked-out ones, compute the rest.
        const m = dstMask + <usize>y * <usize>dstW + <usize>x;
        let active: usize = 0, inactive: usize = 0;
        for (let co = 0; co < dstC; co++) {
          const on = <usize>(load<u8>(m + <usize>co * maskPlane) != 0);
          store<i32>(activeList + (active << 2), co);
          store<i32>(inactiveList + (inactive << 2), co);
          active += on;
          inactive += 1 - on;
        }
        for (let a: usize = 0; a < inactive; a++) {
          const d = d0 + <usize>load<i32>(inactiveList + (a << 2)) * dstPlaneBytes;
          for (let r: usize = 0; r < pix; r += 16) v128.store(d + r, zero);
        }
        let a: usize = 0;
        if (nv >= 4) {
          for (; a + 1 < active; a += 2) {
            const c0 = <usize>load<i32>(activeList + (a << 2)), c1 = <usize>load<i32>(activeList + (a << 2), 4);
            gatherPair<T>(pix, count, list, weights + c0 * weightStride, weights + c1 * weightStride, base,
              d0 + c0 * dstPlaneBytes, d0 + c1 * dstPlaneBytes);
          }
        } else if (nv == 2) {
          for (; a + 3 < active; a += 4) {
            const q = activeList + (a << 2);
            const c0 = <usize>load<i32>(q), c1 = <usize>load<i32>(q, 4), c2 = <usize>load<i32>(q, 8), c3 = <usize>load<i32>(q, 12);
            const w0 = weights + c0 * weightStride, w1 = weights + c1 * weightStride;
            const w2 = weights + c2 * weightStride, w3 = weights + c3 * weightStride;
            const e0 = d0 + c0 * dstPlaneBytes, e1 = d0 + c1 * dstPlaneBytes;
            const e2 = d0 + c2 * dstPlaneBytes, e3 = d0 + c3 * dstPlaneBytes;
            gather4x2<T>(count, list, w0, w1, w2, w3, base, e0, e1, e2, e3);
          }
        }
        for (; a < active; a++) {
          const co = <usize>load<i32>(activeList + (a << 2));
          const w = weights + co * weightStride;
          const dc = d0 + co * dstPlaneBytes;
          if (nv >= 4) gatherSingle<T>(pix, count, list, w, base, dc);
          else if (nv == 2) gather2<T>(count, list, w, base, dc);
          else gather1<T>(count, list, w, base, dc);
        }
      }
    }
  }
  heap.free(inactiveList);
  heap.free(activeList);
  if (compact) heap.free(compact);
}

/**
 * Panel form of W: dst (C_out x H_out x W_out) = diag(dstMask) W src (C_in x H_in x W_in), weights
 * OIHW, any stride >= 1. Both panels padded with pixelBytes = 16*nv; src's border must be zero.
 */
function forwardPanel<T>(
  nv: i32, src: usize, cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32, stride: i32,
  dstMask: usize, srcMask: usize, dst: usize,
): void {
  const pix = <usize>nv << 4;
  const taps = heap.alloc(<usize>(cIn * 9) << 3);
  const maskOffsets = heap.alloc(<usize>(cIn * 9) << 2);
  const nTaps = buildTaps(taps, maskOffsets, cIn, hIn, wIn, pix, sizeof<T>(), 3, 3);
  const hOut = conv3x3OutputSize(hIn, stride), wOut = conv3x3OutputSize(wIn, stride);
  // Output pixel (y, x) reads input rows s*y-1 .. s*y+1, i.e. padded rows s*y .. s*y+2.
  gatherConv<T>(nv, src, <usize>(wIn + 2) * pix, taps, maskOffsets, nTaps, weight, dst, cOut, hOut, wOut,
    dstMask, srcMask, <usize>(wIn + 2), 0, 1, 0, 1, 0, stride, 0, stride);
  heap.free(maskOffsets);
  heap.free(taps);
}

/**
 * Panel form of W^T: dst (C_in x H_in x W_in) = diag(dstMask) W^T src (C_out x H_out x W_out), with
 * `prepared` from conv3x3PrepareTransposeWeights (stride 1 or 2). src's border must be zero.
 */
function transposePanel<T>(
  nv: i32, src: usize, cIn: i32, hIn: i32, wIn: i32, prepared: usize, cOut: i32, stride: i32,
  dstMask: usize, srcMask: usize, dst: usize,
): void {
  const pix = <usize>nv << 4;
  const hOut = conv3x3OutputSize(hIn, stride), wOut = conv3x3OutputSize(wIn, stride);
  const srcRowBytes = <usize>(wOut + 2) * pix;
  const srcMaskRow = <usize>(wOut + 2);
  const taps = heap.alloc(<usize>(cOut * 9) << 3);
  const maskOffsets = heap.alloc(<usize>(cOut * 9) << 2);
  if (stride == 1) {
    const nTaps = buildTaps(taps, maskOffsets, cOut, hOut, wOut, pix, sizeof<T>(), 3, 3);
    gatherConv<T>(nv, src, srcRowBytes, taps, maskOffsets, nTaps, prepared, dst, cIn, hIn, wIn,
      dstMask, srcMask, srcMaskRow, 0, 1, 0, 1, 0, 1, 0, 1);
  } else {
    for (let py = 0; py < 2; py++) {
      for (let px = 0; px < 2; px++) {
        const nTaps = buildTaps(taps, maskOffsets, cOut, hOut, wOut, pix, sizeof<T>(), 1 + py, 1 + px);
        const weights = prepared + <usize>(parityClassOffset(py, px) * cIn * cOut) * sizeof<T>();
        // y = py + 2i has its window's top row at logical y >> 1 = i, padded row i + 1.
        gatherConv<T>(nv, src, srcRowBytes, taps, maskOffsets, nTaps, weights, dst, cIn, hIn, wIn,
          dstMask, srcMask, srcMaskRow, py, 2, px, 2, 1, 1, 1, 1);
      }
    }
  }
  heap.free(maskOffsets);
  heap.free(taps);
}

/**
 * CONVPANELFORWARD: dst = diag(dstMask) W src in the panel layout, where W is the 3x3, padding-1
 * convolution C_in -> C_out with OIHW `weight` (elementSize 8: f64, 4: f32) and the given stride.
 * src: panel of C_in x H_in x W_in with zero border; dst: panel of C_out x H_out x W_out (interior
 * written, border untouched); both with 16*nv bytes per pixel (nv in {1, 2, 4, 8}).
 * dstMask: u8 over C_out x H_out x W_out, or 0; masked-out pixels are written as exact zeros without
 * being computed. srcMask: padded u8 mask of the source (convPadMask) promising that src is zero
 * where it is 0 (those taps are skipped), or 0.
 */
export function convPanelForward(
  elementSize: i32, nv: i32, src: usize, cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32,
  stride: i32, dstMask: usize, srcMask: usize, dst: usize,
): void {
  if (elementSize == 8) forwardPanel<f64>(nv, src, cIn, hIn, wIn, weight, cOut, stride, dstMask, srcMask, dst);
  else forwardPanel<f32>(nv, src, cIn, hIn, wIn, weight, cOut, stride, dstMask, srcMask, dst);
}

/**
 * CONVPANELTRANSPOSE: dst = diag(dstMask) W^T src in the panel layout, for the W of
 * convPanelForward with the same (C_in, H_in, W_in, C_out, stride in {1, 2}); src: panel of
 * C_out x H_out x W_out with zero border, dst: panel of C_in x H_in x W_in. `prepared` comes from
 * conv3x3PrepareTransposeWeights. dstMask: u8 over C_in x H_in x W_in, or 0; srcMask: padded u8
 * mask of the source (C_out x H_out x W_out geometry), or 0 -- as in convPanelForward.
 */
export function convPanelTranspose(
  elementSize: i32, nv: i32, src: usize, cIn: i32, hIn: i32, wIn: i32, prepared: usize, cOut: i32,
  stride: i32, dstMask: usize, srcMask: usize, dst: usize,
): void {
  if (elementSize == 8) transposePanel<f64>(nv, src, cIn, hIn, wIn, prepared, cOut, stride, dstMask, srcMask, dst);
  else transposePanel<f32>(nv, src, cIn, hIn, wIn, prepared, cOut, stride, dstMask, srcMask, dst);
}

// ---------------------------------------------------------------------------------------------------
// Block drivers

function conv3x3<T>(
  transpose: bool, input: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32,
  stride: i32, output: usize,
): void {
  if (k <= 0) return;
  const size = <i32>sizeof<T>();
  const hOut = conv3x3OutputSize(hIn, stride), wOut = conv3x3OutputSize(wIn, stride);
  // Source and destination geometry: W maps C_in x H_in x W_in -> C_out x H_out x W_out, W^T back.
  const cSrc = transpose ? cOut : cIn, hSrc = transpose ? hOut : hIn, wSrc = transpose ? wOut : wIn;
  const cDst = transpose ? cIn : cOut, hDst = transpose ? hIn : hOut, wDst = transpose ? wIn : wOut;
  const maxPix = convPanelVectors(k, size) << 4;
  const srcPanel = heap.alloc(convPanelBytes(cSrc, hSrc, wSrc, maxPix));
  const dstPanel = heap.alloc(convPanelBytes(cDst, hDst, wDst, maxPix));
  let prepared: usize = 0;
  if (transpose) {
    prepared = heap.alloc(<usize>(9 * cIn * cOut * size));
    prepareTransposeWeights<T>(weight, cIn, cOut, stride, prepared);
  }
  const lanes = lanesOf<T>();
  for (let col0 = 0; col0 < k;) {
    const nv = convPanelVectors(k - col0, size);
    const columns = min(nv * lanes, k - col0);
    const pix = nv << 4;
    convPanelZeroBorder(srcPanel, cSrc, hSrc, wSrc, pix);
    packPanel<T>(input, col0, columns, cSrc, hSrc, wSrc, pix, 0, srcPanel);
    if (transpose) transposePanel<T>(nv, srcPanel, cIn, hIn, wIn, prepared, cOut, stride, 0, 0, dstPanel);
    else forwardPanel<T>(nv, srcPanel, cIn, hIn, wIn, weight, cOut, stride, 0, 0, dstPanel);
    unpackPanel<T>(dstPanel, cDst, hDst, wDst, pix, col0, columns, output);
    col0 += columns;
  }
  if (prepared) heap.free(prepared);
  heap.free(dstPanel);
  heap.free(srcPanel);
}

/**
 * CONV3X3FORWARD, f64: output = W * input for a block of k vectors.
 *
 * W is the 3x3 convolution with padding 1, no bias, stride `stride` (>= 1), C_in -> C_out channels,
 * weights `weight` in OIHW order (C_out x C_in x 3 x 3). input: k x (C_in*H_in*W_in), output:
 * k x (C_out*H_out*W_out), both vector-major, C x H x W row-major per vector;
 * H_out = floor((H_in-1)/stride) + 1 (likewise W_out). input and output must not overlap.
 * Accuracy: each output is a sum of 9*C_in products in working precision (gamma_{9 C_in} bound).
 */
export function conv3x3ForwardF64(
  input: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32, stride: i32, output: usize,
): void {
  conv3x3<f64>(false, input, k, cIn, hIn, wIn, weight, cOut, stride, output);
}

/** CONV3X3FORWARD, f32: as conv3x3ForwardF64 with f32 storage and arithmetic. */
export function conv3x3ForwardF32(
  input: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32, stride: i32, output: usize,
): void {
  conv3x3<f32>(false, input, k, cIn, hIn, wIn, weight, cOut, stride, output);
}

/**
 * CONV3X3TRANSPOSE, f64: output = W^T * input for a block of k vectors -- the exact adjoint of
 * conv3x3ForwardF64 called with the same (C_in, H_in, W_in, weight, C_out, stride).
 *
 * input: k x (C_out*H_out*W_out), output: k x (C_in*H_in*W_in), vector-major; stride 1 or 2.
 * Equivalently (W^T g)[i, y, x] = sum over (o, dy, dx) with y = stride*oy + dy - 1,
 * x = stride*ox + dx - 1 in range of W[o, i, dy, dx] * g[o, oy, ox], so <W v, u> = <v, W^T u>.
 * Accuracy: each output is a sum of at most 9*C_out products (gamma_{9 C_out} bound).
 */
export function conv3x3TransposeF64(
  input: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32, stride: i32, output: usize,
): void {
  if (stride != 1 && stride != 2) abort("conv3x3TransposeF64: stride must be 1 or 2");
  conv3x3<f64>(true, input, k, cIn, hIn, wIn, weight, cOut, stride, output);
}

/** CONV3X3TRANSPOSE, f32: as conv3x3TransposeF64 with f32 storage and arithmetic. */
export function conv3x3TransposeF32(
  input: usize, k: i32, cIn: i32, hIn: i32, wIn: i32, weight: usize, cOut: i32, stride: i32, output: usize,
): void {
  if (stride != 1 && stride != 2) abort("conv3x3TransposeF32: stride must be 1 or 2");
  conv3x3<f32>(true, input, k, cIn, hIn, wIn, weight, cOut, stride, output);
}
