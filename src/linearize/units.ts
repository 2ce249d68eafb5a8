/**
 * Naming residual units and stages. Units are numbered 0..3n-1 in network order; everywhere a unit is
 * accepted, `stage.unit` (both 1-based, e.g. "3.9" for the last unit of ResNet-56) works as well.
 */
import type { ResNetModel } from '../model/model.js';
import { UsageError } from '../util/errors.js';

/** The three stages of the CIFAR ResNet family (16, 32, 64 channels). */
export const STAGE_COUNT = 3;

function validUnits(model: ResNetModel): string {
  const n = model.params.n;
  return `${model.name} has units 1.1-${STAGE_COUNT}.${n} (0-${model.unitCount - 1})`;
}

/**
 * The 0-based network-order index of a unit given as an index (number, or a string of digits) or as
 * `stage.unit` (1-based stage 1..3 and unit 1..n within the stage; "3.9" is unit 26 of ResNet-56).
 *
 * Errors: UsageError (an InputError; the CLI exits 2) naming the spec and the valid range, e.g.
 * `unit 3.10 is out of range: resnet56 has units 1.1-3.9 (0-26)`, for an index outside 0..3n-1, a stage
 * outside 1..3, a unit outside 1..n, or anything that is neither form.
 */
export function resolveUnit(model: ResNetModel, spec: number | string): number {
  const n = model.params.n;
  const count = model.unitCount;
  if (typeof spec === 'number') {
    if (Number.isInteger(spec) && spec >= 0 && spec < count) return spec;
    throw new UsageError(`unit ${spec} is out of range: ${validUnits(model)}`);
  }
  const text = String(spec).trim();
  if (/^\d+$/.test(text)) {
    const index = Number(text);
    if (index < count) return index;
    throw new UsageError(`unit ${text} is out of range: ${validUnits(model)}`);
  }
  const match = /^(\d+)\.(\d+)$/.exec(text);
  if (!match) {
    throw new UsageError(`unit "${text}" is neither an index nor stage.unit (like 3.${n}): ${validUnits(model)}`);
  }
  const stage = Number(match[1]);
  const unit = Number(match[2]);
  if (stage < 1 || stage > STAGE_COUNT || unit < 1 || unit > n) {
    throw new UsageError(`unit ${text} is out of range: ${validUnits(model)}`);
  }
  return (stage - 1) * n + (unit - 1);
}

/** `stage.unit` (1-based) of the unit with 0-based network-order index `index`: 26 -> "3.9" (n = 9). */
export function unitLabel(model: ResNetModel, index: number): string {
  const n = model.params.n;
  if (!Number.isInteger(index) || index < 0 || index >= model.unitCount) {
    throw new RangeError(`unit index ${index} outside 0..${model.unitCount - 1}`);
  }
  return `${Math.floor(index / n) + 1}.${(index % n) + 1}`;
}

/**
 * A stage number 1..3 (a number or a string of digits). UsageError naming the spec otherwise:
 * `stage 4 is out of range: resnet56 has stages 1-3`.
 */
export function resolveStage(model: ResNetModel, spec: number | string): number {
  const text = String(spec).trim();
  const stage = typeof spec === 'number' ? spec : /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isInteger(stage) && stage >= 1 && stage <= STAGE_COUNT) return stage;
  throw new UsageError(`stage ${typeof spec === 'number' || /^\d+$/.test(text) ? text : JSON.stringify(text)} is out of range: ${model.name} has stages 1-${STAGE_COUNT}`);
}

/** The network-order indices of the units of stage 1..3: (stage-1)*n .. stage*n - 1. */
export function stageUnits(model: ResNetModel, stage: number): number[] {
  const n = model.params.n;
  return Array.from({ length: n }, (_, i) => (stage - 1) * n + i);
}
