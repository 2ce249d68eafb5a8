/**
 * Machine constants of IEEE binary64 and binary32, named after LAPACK's DLAMCH / SLAMCH:
 *
 *   EPS     DLAMCH('E')  relative machine epsilon, the unit roundoff of round-to-nearest: 2^-53 / 2^-24
 *   PREC    DLAMCH('P')  EPS * base: the spacing of the floats at 1 (f64.EPSILON): 2^-52 / 2^-23
 *   SAFMIN  DLAMCH('S')  safe minimum: the smallest normal number, whose reciprocal does not overflow
 *   RMAX    DLAMCH('O')  overflow threshold: the largest finite number
 *
 * The generic accessors (epsOf<T>() ...) resolve at compile time from the element type (f64 or f32),
 * so generic kernels pay nothing for them.
 */

export const EPS_F64: f64 = 1.1102230246251565e-16;
export const EPS_F32: f32 = 5.960464477539063e-8;
export const PREC_F64: f64 = f64.EPSILON;
export const PREC_F32: f32 = f32.EPSILON;
export const SAFMIN_F64: f64 = f64.MIN_NORMAL_VALUE;
export const SAFMIN_F32: f32 = f32.MIN_NORMAL_VALUE;
export const RMAX_F64: f64 = f64.MAX_VALUE;
export const RMAX_F32: f32 = f32.MAX_VALUE;

/** DLAMCH('E') of T: the unit roundoff. */
@inline export function epsOf<T>(): T {
  return sizeof<T>() == 8 ? <T>EPS_F64 : <T>EPS_F32;
}
/** DLAMCH('P') of T: EPS * 2. */
@inline export function precOf<T>(): T {
  return sizeof<T>() == 8 ? <T>PREC_F64 : <T>PREC_F32;
}
/** DLAMCH('S') of T: the safe minimum. */
@inline export function safminOf<T>(): T {
  return sizeof<T>() == 8 ? <T>SAFMIN_F64 : <T>SAFMIN_F32;
}
/** DLAMCH('O') of T: the overflow threshold. */
@inline export function rmaxOf<T>(): T {
  return sizeof<T>() == 8 ? <T>RMAX_F64 : <T>RMAX_F32;
}
