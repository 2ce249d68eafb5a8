/**
 * The linearization of one residual unit at a point of a trajectory.
 *
 * Unit k maps h (C_in x H x W) to
 *   h' = relu(alpha S(h) + B2 (beta W2 * relu(B1 (beta W1 * h) + c1)) + c2),
 * with W1 (stride 1 or 2) and W2 3x3 convolutions, B1, B2 the batch-norm scales diag(gamma/sqrt(var+eps)),
 * c1, c2 their shifts, and S the shortcut (identity, or option A: subsample by 2 and zero-pad channels).
 * On the linear region around h (no ReLU argument changes sign) the unit is affine, and its Jacobian is
 *
 *   J = D_out (alpha S + beta^2 B2 W2 D_mid B1 W1),
 *   D_mid = diag(B1 (beta W1 * h) + c1 > 0),  D_out = diag(alpha S(h) + a2 > 0),
 *
 * exact there: unit(h + t v) = unit(h) + t J v while no mask flips (relu'(0) = 0, as in autograd).
 * J is m x n with m = C_out H' W' and n = C_in H W, both flattened in C, H, W order (PyTorch's).
 * Rows with D_out = 0 are zero; the others form the `activeRows()` and carry every nonzero singular
 * value. The masks come from the trajectory given (tfjs float32 or float64, see trajectory64.ts).
 * Built by paper-linearize.ts (the construction shared with stages and the network): products run in
 * assembly/unit.ts (masked SIMD convolutions); the dense J is assembled from each row's local
 * structure (a (2s+3)^2 x C_in input window).
 */
import type { ResNetModel } from '../model/model.js';
import type { JacobianOperator, ArrayOf } from './operator.js';
import { linearizePaper, type LinearizeOptions } from './paper-linearize.js';
import type { Precision } from './parameters.js';
import type { LinearizationPoint } from './point.js';

export type { LinearizeOptions } from './paper-linearize.js';

/**
 * LINEARIZEUNIT: J of residual unit `unit` (an index 0..3n-1 or "stage.unit") at the point `point`
 * (a tfjs Trajectory or a float64 Trajectory64 of this model and scaling), as a JacobianOperator of
 * shape [C_out H' W', C_in H W] in the requested precision (default f64).
 *
 * Accuracy: products and dense entries as assembly/unit.ts: componentwise within
 * gamma_{9 C_in + 9 C_out + 2} (|alpha||S| + |B2 W2||B1 W1|)|v| of exact (f64: ~1e-13 relative).
 * Errors: InputError for a bad unit spec (naming the valid range), a trajectory of another model or
 * scaling, or masks of the wrong size.
 */
export async function linearizeUnit(
  model: ResNetModel, point: LinearizationPoint, unit: number | string, options?: LinearizeOptions<'f64'>,
): Promise<JacobianOperator<Float64Array>>;
export async function linearizeUnit(
  model: ResNetModel, point: LinearizationPoint, unit: number | string, options: LinearizeOptions<'f32'>,
): Promise<JacobianOperator<Float32Array>>;
export async function linearizeUnit(
  model: ResNetModel, point: LinearizationPoint, unit: number | string, options: LinearizeOptions,
): Promise<JacobianOperator>;
export async function linearizeUnit<P extends Precision>(
  model: ResNetModel, point: LinearizationPoint, unit: number | string, options: LinearizeOptions<P> = {},
): Promise<JacobianOperator<ArrayOf<P>>> {
  return linearizePaper(model, point, { unit }, options);
}
