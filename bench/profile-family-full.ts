/**
 * Where the time of a general unit's full spectrum goes (bench/family.ts's benchmark 2, by phase):
 * `node --import tsx bench/profile-family-full.ts <model dir> <unit> [image]` on the CIFAR-10 sample.
 * Prints one JSON line of phase seconds.
 */
import { loadModel } from '../src/model/load.js';
import { modelTrajectory64 } from '../src/linearize/model-point.js';
import { linearize } from '../src/linearize/graph-linearize.js';
import { fullSingularValues } from '../src/spectrum/full.js';
import { loadCifar } from '../src/data/cifar.js';
import { pixelsOf } from '../src/study/accuracy.js';
import { loadKernels } from '../src/wasm/kernels.js';

const [dir, unit, image = '0'] = process.argv.slice(2);
const kernels = await loadKernels();
const model = await loadModel(dir!);
const data = await loadCifar(new URL('../data/cifar10-sample/test_batch_1000.bin', import.meta.url).pathname);
const pixels = pixelsOf(data, Number(image), Number(image) + 1);
const seconds: Record<string, number> = {};
let t = performance.now();
const lap = (what: string) => { const now = performance.now(); seconds[what] = (now - t) / 1000; t = now; };
const point = await modelTrajectory64(model, pixels, kernels);
lap('trajectory');
const op = await linearize(point, { unit: unit! }, { kernels });
lap('linearize');
const rows = op.activeRows();
lap('activeRows');
const route = process.env.ROUTE as 'dense' | 'operator-gram' | undefined;
const phases: [string, number][] = [['route', performance.now()]];
const result = await fullSingularValues(op, { kernels, route, onPhase: (p) => phases.push([p, performance.now()]) });
lap('fullSingularValues');
phases.push(['end', performance.now()]);
const byPhase = phases.slice(0, -1).map(([p, at], i) => [p, Number(((phases[i + 1]![1] - at) / 1000).toFixed(2))]);
console.log(JSON.stringify({ unit, shape: op.shape, activeRows: rows.length, activeColumns: op.activeColumns().length, route: result.route, smax: result.values[0], top: Array.from(result.values.subarray(0, 5)), seconds, phases: byPhase }));
