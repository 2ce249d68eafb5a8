/**
 * The point of linearization: the ReLU masks along a trajectory, from either the tfjs (float32)
 * `Trajectory` or the float64 `Trajectory64`, checked against the model (internal to linearize/).
 */
import type { ResNetModel } from '../model/model.js';
import type { Trajectory } from '../model/trajectory.js';
import { InputError } from '../util/errors.js';
import type { Trajectory64 } from './trajectory64.js';

/** Either trajectory: the linearization only reads its masks. */
export type LinearizationPoint = Trajectory | Trajectory64;

/**
 * InputError unless `point` was computed by this model with this scaling:
 * "trajectory was computed for another model or scaling".
 */
export function checkPoint(model: ResNetModel, point: LinearizationPoint): void {
  if (!point || typeof point.modelFingerprint !== 'string' || !Array.isArray(point.units)) {
    throw new InputError('not a trajectory: expected the result of forwardTrajectories or float64Trajectory');
  }
  if (point.modelFingerprint !== model.fingerprint) {
    throw new InputError(`trajectory was computed for another model or scaling (not ${model.name} with its current alpha/beta)`);
  }
  if (point.units.length !== model.unitCount) {
    throw new InputError(`trajectory has ${point.units.length} units, ${model.name} has ${model.unitCount}`);
  }
}

/** D_mid and D_out of unit `index` (lengths checked against the unit's output size). */
export function unitMasks(model: ResNetModel, point: LinearizationPoint, index: number): { hidden: Uint8Array; output: Uint8Array } {
  const unit = model.params.units[index];
  const size = unit.outChannels * unit.outSize * unit.outSize;
  const trace = point.units[index];
  for (const [mask, what] of [[trace.hiddenMask, 'hidden'], [trace.outputMask, 'output']] as const) {
    if (!(mask instanceof Uint8Array) || mask.length !== size) {
      throw new InputError(`trajectory unit ${index}: ${what} mask has ${mask?.length} values, expected ${size}`);
    }
  }
  return { hidden: trace.hiddenMask, output: trace.outputMask };
}

/** D_0 of the stem: where the stem's pre-activation is > 0 (equivalently its output is > 0). */
export function stemMask(model: ResNetModel, point: LinearizationPoint): Uint8Array {
  const size = model.params.stem.conv.outChannels * 32 * 32;
  if ('stemMask' in point && point.stemMask instanceof Uint8Array) {
    if (point.stemMask.length !== size) throw new InputError(`trajectory stem mask has ${point.stemMask.length} values, expected ${size}`);
    return point.stemMask;
  }
  if (point.stem.length !== size) throw new InputError(`trajectory stem has ${point.stem.length} values, expected ${size}`);
  return Uint8Array.from(point.stem, (v) => (v > 0 ? 1 : 0));
}
