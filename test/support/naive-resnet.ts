/**
 * An independent, deliberately plain float64 implementation of the CIFAR ResNet forward pass for one
 * image, written from the architecture description in ../shared/README.md (not from src/). Tests use it
 * as a reference for the tfjs trajectory and the WASM operators. Slow (plain loops) but exact in f64.
 */
import type { BatchNormParams, ResNetParams } from '../../src/model/types.js';

export interface NaiveUnitTrace {
  input: Float64Array;
  hiddenPre: Float64Array; // a1 before relu
  outputPre: Float64Array; // alpha*S(h) + a2 before relu
  output: Float64Array;
}

/** 3x3 convolution, padding 1, stride s, no bias: x is C x H x W, w is O x C x 3 x 3. */
export function naiveConv(x: Float64Array, c: number, h: number, w: Float32Array | Float64Array, o: number, stride: number, scale = 1): Float64Array {
  const ho = Math.floor((h + 2 - 3) / stride) + 1;
  const out = new Float64Array(o * ho * ho);
  for (let oc = 0; oc < o; oc++)
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < ho; xx++) {
        let sum = 0;
        for (let ic = 0; ic < c; ic++)
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const iy = y * stride + ky - 1;
              const ix = xx * stride + kx - 1;
              if (iy < 0 || iy >= h || ix < 0 || ix >= h) continue;
              sum += w[((oc * c + ic) * 3 + ky) * 3 + kx] * x[(ic * h + iy) * h + ix];
            }
        out[(oc * ho + y) * ho + xx] = scale * sum;
      }
  return out;
}

export function naiveBatchNorm(x: Float64Array, bn: BatchNormParams): Float64Array {
  const c = bn.weight.length;
  const plane = x.length / c;
  const out = new Float64Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const s = bn.weight[ch] / Math.sqrt(bn.runningVar[ch] + bn.eps);
    for (let i = 0; i < plane; i++) out[ch * plane + i] = (x[ch * plane + i] - bn.runningMean[ch]) * s + bn.bias[ch];
  }
  return out;
}

const relu = (x: Float64Array): Float64Array => x.map((v) => (v > 0 ? v : 0));

/** Option-A shortcut: x[:, ::2, ::2] zero-padded with (cout - cin)/2 channels on each side. */
export function naiveShortcut(x: Float64Array, cin: number, h: number, cout: number): Float64Array {
  if (cin === cout) return Float64Array.from(x);
  const pad = (cout - cin) / 2;
  const ho = h / 2;
  const out = new Float64Array(cout * ho * ho);
  for (let c = 0; c < cin; c++)
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < ho; xx++) out[((c + pad) * ho + y) * ho + xx] = x[(c * h + 2 * y) * h + 2 * xx];
  return out;
}

export function naiveUnit(p: ResNetParams['units'][number], h: Float64Array, alpha: number, beta: number): NaiveUnitTrace {
  const hiddenPre = naiveBatchNorm(naiveConv(h, p.inChannels, p.inSize, p.conv1.weight, p.outChannels, p.stride, beta), p.bn1);
  const a2 = naiveBatchNorm(naiveConv(relu(hiddenPre), p.outChannels, p.outSize, p.conv2.weight, p.outChannels, 1, beta), p.bn2);
  const shortcut = naiveShortcut(h, p.inChannels, p.inSize, p.outChannels);
  const outputPre = a2.map((v, i) => alpha * shortcut[i] + v);
  return { input: h, hiddenPre, outputPre, output: relu(outputPre) };
}

/** Normalized input (3x32x32) from pixels in [0,1]. */
export function naiveNormalize(pixels: ArrayLike<number>, mean: number[], std: number[]): Float64Array {
  const out = new Float64Array(3072);
  for (let i = 0; i < 3072; i++) out[i] = (pixels[i] - mean[i >> 10]) / std[i >> 10];
  return out;
}

export function naiveForward(params: ResNetParams, x: Float64Array, alpha: ArrayLike<number>, beta: ArrayLike<number>) {
  const stem = relu(naiveBatchNorm(naiveConv(x, 3, 32, params.stem.conv.weight, 16, 1), params.stem.bn));
  const units: NaiveUnitTrace[] = [];
  let h = stem;
  params.units.forEach((u, i) => {
    const t = naiveUnit(u, h, alpha[i], beta[i]);
    units.push(t);
    h = t.output;
  });
  const pooled = new Float64Array(64);
  for (let c = 0; c < 64; c++) {
    let s = 0;
    for (let i = 0; i < 64; i++) s += h[c * 64 + i];
    pooled[c] = s / 64;
  }
  const { weight, bias, outFeatures } = params.classifier;
  const logits = new Float64Array(outFeatures);
  for (let k = 0; k < outFeatures; k++) {
    let s = bias[k];
    for (let c = 0; c < 64; c++) s += weight[k * 64 + c] * pooled[c];
    logits[k] = s;
  }
  return { stem, units, logits };
}
