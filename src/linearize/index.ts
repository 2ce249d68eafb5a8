/**
 * Linearization of a ResNet along a trajectory: unit, stage and whole-network Jacobians as WASM
 * operators (J V, J^T U, dense J), and the float64 trajectory whose masks match PyTorch's.
 */
export { resolveUnit, resolveStage, unitLabel, stageUnits } from './units.js';
export { float64Trajectory, float64Trajectories, type Trajectory64, type UnitTrace64 } from './trajectory64.js';
export { JacobianOperator, type ArrayOf, type VectorBlock } from './operator.js';
export type { Precision } from './parameters.js';
export type { LinearizationPoint } from './point.js';
export { linearizeUnit, type LinearizeOptions } from './unit.js';
export { linearizeStage } from './stage.js';
export { linearizeNetwork } from './network.js';
export { linearizePaper } from './paper-linearize.js';
export {
  graphTrajectory64, runUnit, unitScales, type GraphTrajectory64, type GraphUnitTrace, type LayerPoint,
  type GraphForwardOptions,
} from './graph-forward64.js';
export { linearize, type Segment, type GraphLinearizeOptions } from './graph-linearize.js';
export { graphUnitLabel, resolveGraphUnit, resolveGraphStage, checkGraphShapes } from './graph-geometry.js';
export { modelTrajectory64, linearizeModelUnit } from './model-point.js';
