/**
 * `resnet-stability spectrum --model <m> --data <cifar> --image <i> --unit <u> [--alpha a] [--beta b]
 *  [--precision f64|f32] [--route bidiagonal|gram] [--values-out FILE] [--json]`
 *
 * The full singular spectrum of one unit's linearization at one image. --values-out writes all
 * min(m, n) values, descending, as raw little-endian float64. --json prints {"model", "image", "unit",
 * "shape", "alpha", "beta", "smax", "fractionZero", "fractionOne", "seconds"}; fractionOne counts
 * |s - alpha| < 1e-6 and fractionZero s < 1e-10, both of min(m, n).
 */
import { Command, Option } from 'commander';
import { loadModel } from '../model/load.js';
import { spectrumSummary, unitSpectrum } from '../study/spectrum.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from './errors.js';
import { loadImageSelection } from './inputs.js';

function parseFinite(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${option} must be a number, got "${value}"`);
  return n;
}

export function spectrumCommand(): Command {
  return new Command('spectrum')
    .description("full singular spectrum of a residual unit's linearization at one image")
    .requiredOption('--model <model>', 'shipped name (resnet56, resnet110), model directory, or .th checkpoint')
    .option('--data <data>', 'CIFAR-10 binary file or directory, or one 32x32 PNG/JPEG file')
    .option('--image <i>', 'image index into the CIFAR file', '0')
    .requiredOption('--unit <u>', 'unit index 0..3n-1 or stage.unit (e.g. 3.9)')
    .option('--alpha <a>', "skip-connection scale of this unit (default: the model's)", (v) => parseFinite(v, '--alpha'))
    .option('--beta <b>', "residual-weight scale of this unit (default: the model's)", (v) => parseFinite(v, '--beta'))
    .addOption(new Option('--precision <p>', 'working precision').choices(['f64', 'f32']).default('f64'))
    .addOption(new Option('--route <r>', 'dense SVD route (gram is faster, loses tiny values)').choices(['bidiagonal', 'gram']).default('bidiagonal'))
    .option('--values-out <file>', 'write all singular values (descending) as raw little-endian float64')
    .option('--json', 'print the summary as one JSON object')
    .option('--quiet', 'no progress output')
    .action(async (opts: {
      model: string; data?: string; image: string; unit: string; alpha?: number; beta?: number;
      precision: 'f64' | 'f32'; route: 'bidiagonal' | 'gram'; valuesOut?: string; json?: boolean; quiet?: boolean;
    }) => {
      const model = await loadModel(opts.model);
      const selection = await loadImageSelection(opts.data, opts.image, opts.quiet || opts.json, '--image');
      if (selection.ids.length !== 1) throw new UsageError(`--image takes one image, got ${selection.ids.length}`);
      const started = Date.now();
      const result = await unitSpectrum(model, selection.pixels, /^\d+$/.test(opts.unit) ? Number(opts.unit) : opts.unit, {
        alpha: opts.alpha,
        beta: opts.beta,
        precision: opts.precision,
        route: opts.route,
        onPhase: opts.quiet || opts.json ? undefined : (phase) => process.stderr.write(`spectrum: ${phase} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`),
      });
      const summary = spectrumSummary(result);
      if (opts.valuesOut) {
        const bytes = new Uint8Array(result.values.buffer, result.values.byteOffset, result.values.byteLength);
        await writeFileAtomic(opts.valuesOut, new Uint8Array(bytes)); // Float64Array is little-endian on every supported platform
      }
      const out = {
        model: model.name,
        image: selection.ids[0],
        unit: result.unit,
        unitLabel: result.unitLabel,
        shape: result.shape,
        alpha: result.alpha,
        beta: result.beta,
        smax: summary.smax,
        fractionZero: summary.fractionZero,
        fractionOne: summary.fractionOne,
        seconds: result.seconds,
      };
      if (opts.json) process.stdout.write(JSON.stringify(out) + '\n');
      else {
        process.stdout.write(
          `${model.name} image ${out.image} unit ${out.unitLabel} (${out.shape[0]} x ${out.shape[1]}, alpha ${out.alpha}, beta ${out.beta}): ` +
            `s_max ${out.smax.toFixed(6)}, ${(100 * out.fractionOne).toFixed(2)} % at alpha, ${(100 * out.fractionZero).toFixed(2)} % zero, ` +
            `${out.seconds.toFixed(1)} s\n`,
        );
      }
    });
}
