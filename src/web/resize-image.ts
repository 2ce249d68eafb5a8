/**
 * Bilinear resizing of a CHW image, for models whose input is not 32x32: the demo page's images are
 * CIFAR-10's 32x32, and a torchvision ResNet imported at 224x224 (or any other size) analyses the same
 * image resized. The same map as PyTorch's `F.interpolate(x, size, mode='bilinear',
 * align_corners=False)` without antialiasing (its default): pixel centres are aligned, and each output
 * value is the bilinear blend of the four nearest input values (test/fixtures/resize-pytorch.json).
 */
import { InputError } from '../util/errors.js';

/** Largest side resized to (torchvision ResNets take 224; beyond this the page would run out of memory). */
export const MAX_RESIZED_SIDE = 512;

/** For each output index along one axis: the two input indices and the weight of the second. */
function axisWeights(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float64Array } {
  const scale = inSize / outSize;
  const lo = new Int32Array(outSize), hi = new Int32Array(outSize), t = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const source = Math.max(0, scale * (o + 0.5) - 0.5);
    const i = Math.min(Math.floor(source), inSize - 1);
    lo[o] = i;
    hi[o] = Math.min(i + 1, inSize - 1);
    t[o] = source - i;
  }
  return { lo, hi, t };
}

/**
 * `pixels` (channels x height x width, CHW) resized to `size` = [H, W]; values are computed in float64
 * and stored as float32. The same array when the size does not change.
 */
export function resizeBilinear(pixels: Float32Array, shape: readonly [number, number, number], size: readonly [number, number]): Float32Array {
  const [channels, height, width] = shape;
  const [outH, outW] = size;
  if (pixels.length !== channels * height * width) throw new InputError(`resize: ${pixels.length} values for a ${channels}x${height}x${width} image`);
  for (const side of size) {
    if (!Number.isInteger(side) || side < 1 || side > MAX_RESIZED_SIDE) throw new InputError(`resize: size ${outH}x${outW} is not whole numbers from 1 to ${MAX_RESIZED_SIDE}`);
  }
  if (outH === height && outW === width) return pixels;
  const rows = axisWeights(height, outH), columns = axisWeights(width, outW);
  const out = new Float32Array(channels * outH * outW);
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width;
    for (let y = 0; y < outH; y++) {
      const top = plane + rows.lo[y] * width, bottom = plane + rows.hi[y] * width, ty = rows.t[y];
      for (let x = 0; x < outW; x++) {
        const l = columns.lo[x], r = columns.hi[x], tx = columns.t[x];
        const upper = pixels[top + l] + tx * (pixels[top + r] - pixels[top + l]);
        const lower = pixels[bottom + l] + tx * (pixels[bottom + r] - pixels[bottom + l]);
        out[(c * outH + y) * outW + x] = upper + ty * (lower - upper);
      }
    }
  }
  return out;
}
