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
 * Products run in assembly/unit.ts (masked SIMD convolutions); the dense J is assembled from each
 * row's local structure (a (2s+3)^2 x C_in input window).
 */
import { checkPrecision } from '../util/checks.js';
import type { ResNetModel } from '../model/model.js';
import { loadKernels, type Kernels, type WasmScope } from '../wasm/kernels.js';
import { JacobianOperator, ownOperator, type ArrayOf } from './operator.js';
import { unitKernelParameters, type Precision } from './parameters.js';
import { checkPoint, unitMasks, type LinearizationPoint } from './point.js';
import { resolveUnit, unitLabel } from './units.js';

export interface LinearizeOptions<P extends Precision = Precision> {
  /** Working precision of the operator: 'f64' (default) or 'f32'. */
  precision?: P;
  /** Kernel instance (default: the process-wide loadKernels()). */
  kernels?: Kernels;
}

/**
 * Build the unit.ts operator of unit `index` (J in the given precision) and its operator.ts record,
 * both owned by `owner`. Returns [unit handle, operator handle].
 */
export function buildUnitOperator(
  owner: WasmScope, model: ResNetModel, point: LinearizationPoint, index: number, precision: Precision,
): [number, number] {
  const kernels = owner.kernels.typed(precision);
  const q = unitKernelParameters(model, index, precision);
  const masks = unitMasks(model, point, index);
  return owner.kernels.scope((s) => {
    const created = kernels.unitOperatorCreate(
      q.cIn, q.size, q.size, q.cOut, q.stride, q.alpha,
      s.copyIn(q.weight1), s.copyIn(q.scale1), s.copyIn(q.weight2), s.copyIn(q.scale2), s.copyIn(masks.hidden), s.copyIn(masks.output),
    ) >>> 0;
    if (created === 0) throw new Error('could not build a unit Jacobian operator');
    owner.defer(() => owner.kernels.exports.unitOperatorDestroy(created));
    return [created, ownOperator(owner, kernels.operatorFromUnit(created), `unit ${index}`)];
  });
}

/** The rows of a unit Jacobian with D_out = 1, ascending. */
export function unitActiveRows(kernels: Kernels, unitHandle: number): Int32Array {
  return kernels.scope((s) => {
    const ptr = s.allocBytes(4 * kernels.exports.unitOperatorRows(unitHandle));
    const count = kernels.exports.unitOperatorActiveRows(unitHandle, ptr);
    return new Int32Array(kernels.memory.buffer, ptr, count).slice();
  });
}

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
  const index = resolveUnit(model, unit);
  checkPoint(model, point);
  const precision: Precision = checkPrecision(options.precision) ?? 'f64';
  const kernels = options.kernels ?? (await loadKernels());
  const typed = kernels.typed(precision);
  return kernels.scope((s) => {
    const [unitHandle, handle] = buildUnitOperator(s, model, point, index, precision);
    return new JacobianOperator<ArrayOf<P>>({
      owner: s.keepAll(),
      handle,
      shape: [kernels.exports.operatorRows(handle), kernels.exports.operatorColumns(handle)],
      precision,
      description: `unit ${unitLabel(model, index)} (${index}) of ${model.name}`,
      activeRows: () => unitActiveRows(kernels, unitHandle),
      denseRows: (rowsPtr, first, count, out) => {
        if (rowsPtr) typed.unitJacobianRows(unitHandle, rowsPtr, count, out);
        else typed.unitJacobianRowBlock(unitHandle, first, count, out);
      },
    });
  });
}
