/**
 * `resnet-stability spectrum --model <m> [--data <cifar>] --image <i> --unit <u> [--alpha a] [--beta b]
 *  [--precision f64|f32] [--route auto|bidiagonal|gram] [--values-out FILE] [--json]`
 *
 * The full singular spectrum of one unit's linearization at one image. --values-out writes all
 * min(m, n) values, descending, as raw little-endian float64. --json prints {"model", "image", "unit",
 * "unitLabel", "shape", "alpha", "beta", "smax", "fractionZero", "fractionOne", "seconds"};
 * fractionOne counts |s - alpha| < 1e-6 and fractionZero s < 1e-10, both of min(m, n).
 *
 * The study form takes several images and units and other methods:
 *   --images 0-9 --units 3.1,3.9 --method full|topk|density|count [--k 20] [--bins e0,e1,...]
 *   [--interval lo,hi] [--out dir]
 * and prints {"model", "method", "results": [...], "variation": [...]} where `variation` gives, per
 * unit, how much the sorted spectrum varies across images (the standard deviation at each rank,
 * summarized by its maximum and mean). --out writes summary.json, summary.csv and, for full/topk,
 * values-unit<u>-image<i>.f64 per pair.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { loadModel } from '../model/load.js';
import type { ResNetModel } from '../model/model.js';
import { spectrumSummary, unitSpectrum, ONE_TOLERANCE, ZERO_TOLERANCE } from '../study/spectrum.js';
import { countUnitSingularValues, topUnitSingularValues, unitDensity, withUnitLinearization } from '../study/spectrum-methods.js';
import { toCsv, writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from './errors.js';
import { loadImageSelection, parsePositiveInteger } from './inputs.js';
import { parseUnitList } from './scale.js';

type Method = 'full' | 'topk' | 'density' | 'count';

function parseFinite(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${option} must be a number, got "${value}"`);
  return n;
}

function parseNumberList(value: string, option: string): number[] {
  return value.split(',').map((v) => parseFinite(v, option));
}

function float64Bytes(values: Float64Array): Uint8Array {
  // Typed arrays are little-endian on every platform Node and browsers run on.
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

interface Row {
  image: number | string;
  unit: number;
  unitLabel: string;
  shape: [number, number];
  alpha: number;
  beta: number;
  seconds: number;
  smax?: number;
  smallestNonzero?: number;
  fractionOne?: number;
  fractionZero?: number;
  values?: number[];
  density?: { edges: number[]; counts: number[]; error: number[] };
  count?: { lo: number; hi: number; count: number; fraction: number };
}

/** Per-rank standard deviation across images of the sorted spectra of one unit. */
function rankVariation(spectra: Float64Array[]): { maxStd: number; meanStd: number; ranks: number } {
  const ranks = Math.min(...spectra.map((s) => s.length));
  let max = 0;
  let sum = 0;
  for (let r = 0; r < ranks; r++) {
    let mean = 0;
    for (const s of spectra) mean += s[r];
    mean /= spectra.length;
    let variance = 0;
    for (const s of spectra) variance += (s[r] - mean) ** 2;
    const std = Math.sqrt(variance / Math.max(1, spectra.length - 1));
    max = Math.max(max, std);
    sum += std;
  }
  return { maxStd: max, meanStd: ranks ? sum / ranks : 0, ranks };
}

async function oneSpectrum(
  model: ResNetModel, pixels: Float32Array, image: number | string, unit: number, method: Method,
  opts: { alpha?: number; beta?: number; precision: 'f64' | 'f32'; route: 'auto' | 'bidiagonal' | 'gram'; k: number; bins?: number[]; interval?: number[]; log?: (m: string) => void },
): Promise<{ row: Row; values?: Float64Array }> {
  const started = performance.now();
  if (method === 'full') {
    const result = await unitSpectrum(model, pixels, unit, { alpha: opts.alpha, beta: opts.beta, precision: opts.precision, route: opts.route, onPhase: opts.log });
    const s = spectrumSummary(result);
    return {
      row: { image, unit: result.unit, unitLabel: result.unitLabel, shape: result.shape, alpha: result.alpha, beta: result.beta, seconds: result.seconds, ...s },
      values: result.values,
    };
  }
  return withUnitLinearization(model, pixels, unit, { alpha: opts.alpha, beta: opts.beta }, async (operator, point) => {
    const row: Row = { image, ...point, seconds: 0 };
    let values: Float64Array | undefined;
    if (method === 'topk') {
      const top = await topUnitSingularValues(operator, opts.k);
      values = top.values;
      row.values = Array.from(top.values);
      row.smax = top.values[0];
    } else if (method === 'density') {
      const smax = (await topUnitSingularValues(operator, 1, 1e-8)).values[0];
      const edges = opts.bins ?? Array.from({ length: 41 }, (_, i) => (i * smax * 1.0001) / 40);
      row.smax = smax;
      row.density = await unitDensity(operator, edges);
    } else {
      const [lo, hi] = opts.interval ?? [point.alpha - 1e-3, point.alpha + 1e-3];
      const p = model.params.units[point.unit];
      const count = await countUnitSingularValues(operator, lo, hi, [p.outChannels, p.outSize, p.outSize]);
      row.count = { lo, hi, count, fraction: count / Math.min(...point.shape) };
    }
    row.seconds = (performance.now() - started) / 1000;
    return { row, values };
  });
}

export function spectrumCommand(): Command {
  return new Command('spectrum')
    .description("singular values of residual-unit linearizations: full, top-k, density or exact interval counts")
    .requiredOption('--model <model>', 'shipped name (resnet56, resnet110), model directory, or .th checkpoint')
    .option('--data <data>', 'CIFAR-10 binary file or directory, or one 32x32 PNG/JPEG file')
    .option('--image <i>', 'image index into the CIFAR file (one image)')
    .option('--images <list>', 'several images, e.g. 0-9')
    .option('--unit <u>', 'unit index 0..3n-1 or stage.unit (e.g. 3.9)')
    .option('--units <list>', 'several units: indices, stage.unit, ranges (18-26), or all')
    .addOption(new Option('--method <m>', 'what to compute').choices(['full', 'topk', 'density', 'count']).default('full'))
    .option('--k <k>', 'topk: how many of the largest values', (v) => parsePositiveInteger(v, '--k'), 20)
    .option('--bins <edges>', 'density: bin edges (default 40 bins over [0, s_max])', (v) => parseNumberList(v, '--bins'))
    .option('--interval <lo,hi>', 'count: the interval [lo, hi) (default alpha -/+ 1e-3)', (v) => parseNumberList(v, '--interval'))
    .option('--alpha <a>', "skip-connection scale of the unit (default: the model's)", (v) => parseFinite(v, '--alpha'))
    .option('--beta <b>', "residual-weight scale of the unit (default: the model's)", (v) => parseFinite(v, '--beta'))
    .addOption(new Option('--precision <p>', 'full: working precision').choices(['f64', 'f32']).default('f64'))
    .addOption(new Option('--route <r>', 'full: dense SVD route').choices(['auto', 'bidiagonal', 'gram']).default('auto'))
    .option('--values-out <file>', 'one image and unit: write all values (descending) as raw little-endian float64')
    .option('--out <dir>', 'write summary.json, summary.csv and the values files here')
    .option('--json', 'print the result as one JSON object')
    .option('--quiet', 'no progress output')
    .action(async (opts: {
      model: string; data?: string; image?: string; images?: string; unit?: string; units?: string; method: Method; k: number;
      bins?: number[]; interval?: number[]; alpha?: number; beta?: number; precision: 'f64' | 'f32';
      route: 'auto' | 'bidiagonal' | 'gram'; valuesOut?: string; out?: string; json?: boolean; quiet?: boolean;
    }) => {
      if (opts.image !== undefined && opts.images !== undefined) throw new UsageError('give --image or --images, not both');
      if (opts.unit !== undefined && opts.units !== undefined) throw new UsageError('give --unit or --units, not both');
      if (opts.unit === undefined && opts.units === undefined) throw new UsageError("required option '--unit <u>' not specified");
      if (opts.interval && (opts.interval.length !== 2 || !(opts.interval[0] < opts.interval[1]))) {
        throw new UsageError('--interval must be two increasing numbers lo,hi');
      }
      if (opts.bins && (opts.bins.length < 2 || opts.bins.some((e, i) => i > 0 && !(e > opts.bins![i - 1])))) {
        throw new UsageError('--bins must be at least two strictly increasing edges');
      }
      const model = await loadModel(opts.model);
      const units = parseUnitList(model, opts.units ?? opts.unit!, opts.units ? '--units' : '--unit');
      const unitList = units.length ? units : model.params.units.map((_, i) => i);
      const quiet = opts.quiet || opts.json;
      const selection = await loadImageSelection(opts.data, opts.images ?? opts.image ?? '0', quiet, opts.images ? '--images' : '--image');
      const single = selection.ids.length === 1 && unitList.length === 1;
      if (opts.valuesOut && !single) throw new UsageError('--values-out takes one image and one unit (use --out for several)');
      const rows: Row[] = [];
      const spectraByUnit = new Map<number, Float64Array[]>();
      const log = quiet ? undefined : (m: string) => process.stderr.write(`spectrum: ${m}\n`);
      for (const unit of unitList) {
        for (let i = 0; i < selection.ids.length; i++) {
          const image = selection.ids[i];
          log?.(`unit ${unit}, image ${image} (${opts.method})`);
          const pixels = selection.pixels.subarray(i * 3072, (i + 1) * 3072);
          const { row, values } = await oneSpectrum(model, pixels, image, unit, opts.method, { ...opts, log });
          rows.push(row);
          if (values) {
            spectraByUnit.set(unit, [...(spectraByUnit.get(unit) ?? []), values]);
            if (opts.valuesOut) await writeFileAtomic(opts.valuesOut, float64Bytes(values));
            if (opts.out) await writeFileAtomic(join(opts.out, `values-unit${unit}-image${image}.f64`), float64Bytes(values));
          }
        }
      }
      if (single && opts.method === 'full') {
        const r = rows[0];
        const out = {
          model: model.name, image: r.image, unit: r.unit, unitLabel: r.unitLabel, shape: r.shape, alpha: r.alpha, beta: r.beta,
          smax: r.smax, fractionZero: r.fractionZero, fractionOne: r.fractionOne, seconds: r.seconds,
        };
        if (opts.out) await writeFileAtomic(join(opts.out, 'summary.json'), JSON.stringify(out) + '\n');
        if (opts.json) process.stdout.write(JSON.stringify(out) + '\n');
        else process.stdout.write(
          `${model.name} image ${out.image} unit ${out.unitLabel} (${out.shape[0]} x ${out.shape[1]}, alpha ${out.alpha}, beta ${out.beta}): ` +
            `s_max ${out.smax!.toFixed(6)}, ${(100 * out.fractionOne!).toFixed(2)} % at alpha (|s - alpha| < ${ONE_TOLERANCE}), ` +
            `${(100 * out.fractionZero!).toFixed(2)} % zero (< ${ZERO_TOLERANCE}), ${out.seconds.toFixed(1)} s\n`,
        );
        return;
      }
      const variation = [...spectraByUnit].filter(([, s]) => s.length > 1).map(([unit, s]) => ({ unit, ...rankVariation(s) }));
      const summary = { model: model.name, method: opts.method, results: rows, variation };
      if (opts.out) {
        await writeFileAtomic(join(opts.out, 'summary.csv'), toCsv(
          ['unit', 'image', 'm', 'n', 'alpha', 'beta', 'smax', 'smallestNonzero', 'fractionOne', 'fractionZero', 'count', 'seconds'],
          rows.map((r) => [r.unit, String(r.image), r.shape[0], r.shape[1], r.alpha, r.beta, r.smax ?? '', r.smallestNonzero ?? '', r.fractionOne ?? '', r.fractionZero ?? '', r.count?.count ?? '', r.seconds]),
        ));
        await writeFileAtomic(join(opts.out, 'summary.json'), JSON.stringify(summary) + '\n');
      }
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else if (!opts.out) {
        for (const r of rows) {
          const what = r.count ? `${r.count.count} values in [${r.count.lo}, ${r.count.hi})` : r.density ? `density over ${r.density.counts.length} bins` : `s_max ${r.smax?.toFixed(6)}`;
          process.stdout.write(`unit ${r.unitLabel}, image ${r.image}: ${what} (${r.seconds.toFixed(1)} s)\n`);
        }
        for (const v of variation) process.stdout.write(`unit ${v.unit}: per-rank std across images max ${v.maxStd.toExponential(3)}, mean ${v.meanStd.toExponential(3)}\n`);
      }
    });
}
