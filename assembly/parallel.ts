/**
 * Shared-memory threads for the band reduction of gram.ts (the "threads" build only).
 *
 * The threads build (asconfig.json target "threads", entry threads.ts) imports a shared memory; the
 * main thread's instance and one helper instance per extra thread (each in a Node worker) are
 * instantiated on it. Only the main instance allocates (memory.ts and the TLSF heap are not thread
 * safe, and a helper never runs the start function: the build exports it as `_initialize` for the
 * main instance alone); helpers compute on pointers they are given, with scratch the main thread
 * allocated for them.
 *
 * Protocol (a control block of CONTROL_BYTES from threadPoolOpen):
 * - the main thread writes a task (kind and operands) at TASK, zeroes NEXT and ACK, increments SEQ and
 *   notifies SEQ; helpers wait on SEQ (memory.atomic.wait32) in threadServe;
 * - every thread, main included, takes block indices from NEXT (atomic add) until none are left and
 *   computes those blocks; each block writes its own rows of the result, so the result does not
 *   depend on who computed which block: it is bitwise the same for any number of threads and equal to
 *   the single-threaded gram.ts symmLower / blas.ts gemmLowerF64 (same blocks, same GEMM);
 * - a helper done with a task adds 1 to ACK and notifies it; the main thread returns when ACK counts
 *   every helper. A helper whose JavaScript caught a trap sets DEAD (and notifies ACK): the main
 *   thread then aborts instead of waiting for ever.
 * Taking blocks dynamically (largest first for the lower-triangle GEMM) keeps both cores busy even when
 * the machine's other work slows one of them.
 *
 * Every atomic access takes the control pointer with an immediate offset (atomic.add<i32>(control, 1,
 * ACK)), never an address computed into a local: Node 20's V8 (11.3), in its baseline compiler
 * (Liftoff, which runs threadServe for ever since V8 does not tier up a running call), sent the
 * helper's `i32.atomic.rmw.add` on an address kept in a local across `memory.atomic.wait32` to address
 * 0 instead (the ACK never arrived and the main thread waited for ever; with --no-liftoff the same
 * binary was right). test/threads.test.ts runs the protocol under the default tiers.
 *
 * The GEMM here is blas.ts's f64 GEMM (same packing, micro-kernel and blocking, hence the same
 * rounding) with the packing buffers supplied by the caller instead of taken from the heap.
 */

// ---------------------------------------------------------------------------------------------------
// GEMM on caller-supplied packing buffers: a copy of the f64 path of blas.ts gemm<T> (KC, MC, NC, MR,
// NR and the order of every sum must stay equal to blas.ts for bitwise equal results; test/threads.test.ts
// compares the two).

const MR: i32 = 6;
const NR: i32 = 4;
const KC: i32 = 512;
const MC: i32 = 48;
const NC: i32 = 2048;
const EDGE_TILE_BYTES: usize = 8 * 8 * 8;

/** Bytes of the packed-A buffer (and the ragged-tile scratch after it) that gemmPacked needs. */
export const PACKED_A_BYTES: usize = <usize>(KC * MC) * 8 + EDGE_TILE_BYTES;
/** Bytes of the packed-B buffer that gemmPacked needs. */
export const PACKED_B_BYTES: usize = <usize>(KC * NC) * 8;

function packA(transA: bool, a: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, alpha: f64, dst: usize): void {
  for (let s = 0; s < mc; s += MR) {
    const rows = min(MR, mc - s);
    const sliver = dst + <usize>(s * kc) * 8;
    if (!transA) {
      for (let r = 0; r < rows; r++) {
        const src = a + (<usize>(i0 + s + r) * <usize>lda + <usize>p0) * 8;
        for (let p = 0; p < kc; p++) store<f64>(sliver + (<usize>(p * MR + r)) * 8, alpha * load<f64>(src + <usize>p * 8));
      }
      for (let r = rows; r < MR; r++) {
        for (let p = 0; p < kc; p++) store<f64>(sliver + (<usize>(p * MR + r)) * 8, 0);
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const src = a + (<usize>(p0 + p) * <usize>lda + <usize>(i0 + s)) * 8;
        const out = sliver + <usize>(p * MR) * 8;
        for (let r = 0; r < rows; r++) store<f64>(out + <usize>r * 8, alpha * load<f64>(src + <usize>r * 8));
        for (let r = rows; r < MR; r++) store<f64>(out + <usize>r * 8, 0);
      }
    }
  }
}

function packB(transB: bool, b: usize, ldb: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let t = 0; t < nc; t += NR) {
    const cols = min(NR, nc - t);
    const sliver = dst + <usize>(t * kc) * 8;
    if (!transB) {
      for (let p = 0; p < kc; p++) {
        const src = b + (<usize>(p0 + p) * <usize>ldb + <usize>(j0 + t)) * 8;
        const out = sliver + <usize>(p * NR) * 8;
        if (cols == NR) {
          v128.store(out, v128.load(src));
          v128.store(out, v128.load(src, 16), 16);
        } else {
          for (let c = 0; c < cols; c++) store<f64>(out + <usize>c * 8, load<f64>(src + <usize>c * 8));
          for (let c = cols; c < NR; c++) store<f64>(out + <usize>c * 8, 0);
        }
      }
    } else {
      for (let c = 0; c < cols; c++) {
        const src = b + (<usize>(j0 + t + c) * <usize>ldb + <usize>p0) * 8;
        for (let p = 0; p < kc; p++) store<f64>(sliver + <usize>(p * NR + c) * 8, load<f64>(src + <usize>p * 8));
      }
      for (let c = cols; c < NR; c++) {
        for (let p = 0; p < kc; p++) store<f64>(sliver + <usize>(p * NR + c) * 8, 0);
      }
    }
  }
}

@inline function mergeRow(cp: usize, lo: v128, hi: v128, beta: f64): void {
  if (beta == 0) {
    v128.store(cp, lo);
    v128.store(cp, hi, 16);
  } else if (beta == 1) {
    v128.store(cp, f64x2.add(v128.load(cp), lo));
    v128.store(cp, f64x2.add(v128.load(cp, 16), hi), 16);
  } else {
    const bv = f64x2.splat(beta);
    v128.store(cp, f64x2.add(f64x2.mul(v128.load(cp), bv), lo));
    v128.store(cp, f64x2.add(f64x2.mul(v128.load(cp, 16), bv), hi), 16);
  }
}

function micro(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32, beta: f64, edge: usize): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
  let c40 = f64x2.splat(0), c41 = f64x2.splat(0);
  let c50 = f64x2.splat(0), c51 = f64x2.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load64_splat(ap);
    c00 = f64x2.add(c00, f64x2.mul(a, b0));
    c01 = f64x2.add(c01, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 8);
    c10 = f64x2.add(c10, f64x2.mul(a, b0));
    c11 = f64x2.add(c11, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 16);
    c20 = f64x2.add(c20, f64x2.mul(a, b0));
    c21 = f64x2.add(c21, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 24);
    c30 = f64x2.add(c30, f64x2.mul(a, b0));
    c31 = f64x2.add(c31, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 32);
    c40 = f64x2.add(c40, f64x2.mul(a, b0));
    c41 = f64x2.add(c41, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 40);
    c50 = f64x2.add(c50, f64x2.mul(a, b0));
    c51 = f64x2.add(c51, f64x2.mul(a, b1));
    ap += 48;
    bp += 32;
  }
  const full = rows == MR && cols == NR;
  const stride = <usize>ldc << 3;
  const out = full ? c : edge;
  const outStride: usize = full ? stride : <usize>NR << 3;
  const outBeta = full ? beta : 0.0;
  mergeRow(out, c00, c01, outBeta);
  mergeRow(out + outStride, c10, c11, outBeta);
  mergeRow(out + 2 * outStride, c20, c21, outBeta);
  mergeRow(out + 3 * outStride, c30, c31, outBeta);
  mergeRow(out + 4 * outStride, c40, c41, outBeta);
  mergeRow(out + 5 * outStride, c50, c51, outBeta);
  if (!full) {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        const cp = c + <usize>r * stride + (<usize>j << 3);
        const v = load<f64>(edge + (<usize>(r * NR + j) << 3));
        store<f64>(cp, beta == 0 ? v : beta * load<f64>(cp) + v);
      }
    }
  }
}

/**
 * C = alpha op(A) op(B) + beta C (f64, row-major; as blas.ts gemmF64) with packing buffers packedA
 * (PACKED_A_BYTES) and packedB (PACKED_B_BYTES) from the caller: allocates nothing, so a helper
 * instance may run it.
 */
export function gemmPacked(
  transA: bool, transB: bool, m: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
  packedA: usize, packedB: usize,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0) {
    for (let i = 0; i < m; i++) {
      const row = c + <usize>i * <usize>ldc * 8;
      if (beta == 0) memory.fill(row, 0, <usize>n * 8);
      else if (beta != 1) for (let j = 0; j < n; j++) store<f64>(row + <usize>j * 8, beta * load<f64>(row + <usize>j * 8));
    }
    return;
  }
  const kcMax = min(KC, k);
  const mcMax = min(MC, ((m + MR - 1) / MR) * MR);
  const edge = packedA + <usize>(kcMax * mcMax) * 8;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const passBeta: f64 = pc == 0 ? beta : 1;
      packB(transB, b, ldb, pc, kc, jc, nc, packedB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(transA, a, lda, ic, mc, pc, kc, alpha, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bp = packedB + <usize>(jr * kc) * 8;
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const ap = packedA + <usize>(ir * kc) * 8;
            const cp = c + (<usize>(ic + ir) * <usize>ldc + <usize>(jc + jr)) * 8;
            micro(kc, ap, bp, cp, ldc, rows, cols, passBeta, edge);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The blocks of the two products. Each is a function of its own, called once per block, so that V8
// runs them optimized (it tiers a WebAssembly function up between calls, never inside one).

/** Block height of blas.ts gemmLower (LOWER_BLOCK there): equal, for bitwise equal results. */
export const LOWER_BLOCK: i32 = 192;

/** Per-thread scratch: the two packing buffers and a square block (SYMM_MAX_BLOCK^2 f64). */
@unmanaged class ThreadScratch {
  packedA: usize;
  packedB: usize;
  square: usize;
  /** Blocks this thread computed since the pool opened (statistics). */
  done: i32;
}

/** Largest symmetric-product block (gram.ts SYMM_BLOCK) the scratch has room for. */
const SYMM_MAX_BLOCK: i32 = 512;
const SQUARE_BYTES: usize = 512 * 512 * 8; // SYMM_MAX_BLOCK^2 f64 (>= LOWER_BLOCK^2)

/**
 * Block j of gram.ts symmLower: Y[J] = A[J, <J] V[<J] + A[J, J] V[J] + A[>J, J]^T V[>J] for the rows
 * J = [j0, j0 + h) (same operations in the same order as there).
 */
function symmBlock(task: PoolTask, j: i32, s: ThreadScratch): void {
  const r = task.n, q = task.k, lda = task.lda, block = task.block;
  const a = task.a, v = task.b, y = task.c, scratch = s.square;
  const ld = <usize>lda;
  const j0 = j * block, j1 = min(r, j0 + block), h = j1 - j0;
  const yb = y + <usize>j0 * <usize>q * 8;
  for (let i = 0; i < h; i++) {
    const row = a + (<usize>(j0 + i) * ld + <usize>j0) * 8;
    for (let c = 0; c <= i; c++) {
      const value = load<f64>(row + (<usize>c << 3));
      store<f64>(scratch + (<usize>(i * h + c) << 3), value);
      store<f64>(scratch + (<usize>(c * h + i) << 3), value);
    }
  }
  gemmPacked(false, false, h, q, h, 1, scratch, h, v + <usize>j0 * <usize>q * 8, q, 0, yb, q, s.packedA, s.packedB);
  if (j0 > 0) gemmPacked(false, false, h, q, j0, 1, a + <usize>j0 * ld * 8, lda, v, q, 1, yb, q, s.packedA, s.packedB);
  if (j1 < r) {
    gemmPacked(true, false, h, q, r - j1, 1, a + (<usize>j1 * ld + <usize>j0) * 8, lda, v + <usize>j1 * <usize>q * 8, q, 1, yb, q, s.packedA, s.packedB);
  }
}

/**
 * Block rows [i0, i0 + LOWER_BLOCK) of blas.ts gemmLower (f64): C[rows, 0:i0] by one GEMM, the
 * diagonal block into scratch and its lower triangle merged (same operations in the same order).
 */
function lowerBlock(task: PoolTask, blockIndex: i32, s: ThreadScratch): void {
  const n = task.n, k = task.k, alpha = task.alpha, beta = task.beta;
  const transA = task.transA != 0, transB = task.transB != 0;
  const a = task.a, lda = task.lda, b = task.b, ldb = task.ldb, c = task.c, ldc = task.ldc;
  const diag = s.square;
  const i0 = blockIndex * LOWER_BLOCK;
  const rows = min(LOWER_BLOCK, n - i0);
  const aBlock = a + (transA ? <usize>i0 : <usize>i0 * <usize>lda) * 8;
  const bBlock = b + (transB ? <usize>i0 * <usize>ldb : <usize>i0) * 8;
  const cBlock = c + <usize>i0 * <usize>ldc * 8;
  if (i0 > 0) gemmPacked(transA, transB, rows, i0, k, alpha, aBlock, lda, b, ldb, beta, cBlock, ldc, s.packedA, s.packedB);
  gemmPacked(transA, transB, rows, rows, k, alpha, aBlock, lda, bBlock, ldb, 0, diag, rows, s.packedA, s.packedB);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j <= i; j++) {
      const cp = cBlock + (<usize>i * <usize>ldc + <usize>(i0 + j)) * 8;
      const v = load<f64>(diag + <usize>(i * rows + j) * 8);
      store<f64>(cp, beta == 0 ? v : v + beta * load<f64>(cp));
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The pool

const TASK_SYMM: i32 = 1;
const TASK_LOWER: i32 = 2;
const TASK_STOP: i32 = 3;

// Control block: the words threads synchronize on, each on a 64-byte line of its own, then the task.
const SEQ: usize = 0;
const ACK: usize = 64;
const NEXT: usize = 128;
const DEAD: usize = 192;
const HELPERS: usize = 256;
const TASK: usize = 320;
const SCRATCH: usize = 448;
/** Most threads (main included) a pool can have. */
export const MAX_THREADS: i32 = 16;
const CONTROL_BYTES: usize = SCRATCH + <usize>MAX_THREADS * offsetof<ThreadScratch>();

/** The operands of the current task, at control + TASK. */
@unmanaged class PoolTask {
  kind: i32;
  blocks: i32;
  block: i32;
  n: i32;
  k: i32;
  lda: i32;
  ldb: i32;
  ldc: i32;
  transA: i32;
  transB: i32;
  a: usize;
  b: usize;
  c: usize;
  alpha: f64;
  beta: f64;
}

/** The pool the main instance opened (0: none; always 0 in a helper instance). */
let openPool: usize = 0;

/** The open pool of this instance, or 0. */
export function threadPool(): usize {
  return openPool;
}

@inline function taskOf(control: usize): PoolTask {
  return changetype<PoolTask>(control + TASK);
}
@inline function scratchOf(control: usize, id: i32): ThreadScratch {
  return changetype<ThreadScratch>(control + SCRATCH + <usize>id * offsetof<ThreadScratch>());
}

/** Take blocks of the current task until none are left; `id` 0 is the main thread. */
function runBlocks(control: usize, id: i32): void {
  const task = taskOf(control);
  const s = scratchOf(control, id);
  const kind = task.kind, blocks = task.blocks;
  while (true) {
    const t = atomic.add<i32>(control, 1, NEXT);
    if (t >= blocks) break;
    // Lower-triangle blocks grow with their index: hand the largest out first.
    if (kind == TASK_LOWER) lowerBlock(task, blocks - 1 - t, s);
    else symmBlock(task, t, s);
    s.done++;
  }
}

/** Spins on a word before sleeping on it: most waits here are short. */
const SPINS: i32 = 2000;

/** Post the task at control + TASK to the helpers, take part in it, and wait until all are done. */
function runTask(control: usize): void {
  const helpers = load<i32>(control + HELPERS);
  atomic.store<i32>(control, 0, NEXT);
  atomic.store<i32>(control, 0, ACK);
  if (helpers > 0) {
    atomic.add<i32>(control, 1, SEQ);
    atomic.notify(control + SEQ, helpers);
  }
  runBlocks(control, 0);
  let spins = 0;
  while (true) {
    const ack = atomic.load<i32>(control, ACK);
    if (ack >= helpers) break;
    if (atomic.load<i32>(control, DEAD) != 0) abort("a helper thread of the pool failed");
    if (spins < SPINS) {
      spins++;
      continue;
    }
    memory.atomic.wait32(control + ACK, ack, 100_000_000);
  }
}

/**
 * THREADPOOLOPEN (main instance): a pool of `threads` threads (the main one and threads - 1 helpers,
 * 1 <= threads <= MAX_THREADS): allocates the control block and every thread's scratch (~9 MB each)
 * and makes gram.ts gramBandReduceF64 split its products over the pool from now on. Returns the
 * control block, to be passed to threadServe(control, id) in helper id = 1 .. threads - 1. Every
 * task waits for every helper's answer (a helper that has not started serving yet answers the current
 * task when it starts), so each helper must be serving, or have failed (threadFail), soon after.
 */
export function threadPoolOpen(threads: i32): usize {
  if (openPool) abort("threadPoolOpen: a pool is already open");
  if (threads < 1 || threads > MAX_THREADS) abort("threadPoolOpen: threads must be 1 to 16");
  const control = heap.alloc(CONTROL_BYTES);
  memory.fill(control, 0, CONTROL_BYTES);
  store<i32>(control + HELPERS, threads - 1);
  for (let id = 0; id < threads; id++) {
    const s = scratchOf(control, id);
    s.packedA = heap.alloc(PACKED_A_BYTES);
    s.packedB = heap.alloc(PACKED_B_BYTES);
    s.square = heap.alloc(SQUARE_BYTES);
  }
  openPool = control;
  return control;
}

/**
 * THREADPOOLCLOSE (main instance): stop the helpers (threadServe returns) and free the pool. Waits
 * for the helpers' acknowledgement at most `timeoutMs` milliseconds (a helper that never started
 * serving cannot answer); the scratch is freed only when every helper answered.
 */
export function threadPoolClose(control: usize, timeoutMs: i32): bool {
  if (!control || control != openPool) return false;
  openPool = 0;
  const helpers = load<i32>(control + HELPERS);
  taskOf(control).kind = TASK_STOP;
  atomic.store<i32>(control, 0, ACK);
  atomic.add<i32>(control, 1, SEQ);
  atomic.notify(control + SEQ, helpers);
  let waited = 0;
  while (atomic.load<i32>(control, ACK) < helpers && atomic.load<i32>(control, DEAD) == 0 && waited < timeoutMs) {
    memory.atomic.wait32(control + ACK, atomic.load<i32>(control, ACK), 1_000_000);
    waited++;
  }
  if (atomic.load<i32>(control, ACK) < helpers) return false;
  for (let id = 0; id <= helpers; id++) {
    const s = scratchOf(control, id);
    heap.free(s.packedA);
    heap.free(s.packedB);
    heap.free(s.square);
  }
  heap.free(control);
  return true;
}

/**
 * THREADSERVE (helper instance `id`, 1 <= id < threads): wait for tasks on the pool at `control` and
 * take part in each until the pool is closed; then return. Allocates nothing.
 */
export function threadServe(control: usize, id: i32): void {
  if (id < 1 || id > load<i32>(control + HELPERS)) abort("threadServe: bad thread id");
  let seen = 0;
  while (true) {
    let seq = atomic.load<i32>(control, SEQ);
    while (seq == seen) {
      memory.atomic.wait32(control + SEQ, seen, -1);
      seq = atomic.load<i32>(control, SEQ);
    }
    seen = seq;
    const stop = taskOf(control).kind == TASK_STOP;
    if (!stop) runBlocks(control, id);
    atomic.add<i32>(control, 1, ACK);
    atomic.notify(control + ACK, 1);
    if (stop) return;
  }
}

/**
 * THREADFAIL (helper instance, from its JavaScript after threadServe trapped): mark the pool failed and
 * wake the main thread, which then aborts the task it waits for instead of waiting for ever.
 */
export function threadFail(control: usize): void {
  atomic.store<i32>(control, 1, DEAD);
  atomic.notify(control + ACK, 1);
}

/**
 * THREADPOOLBLOCKS (main instance): blocks of the two products thread `id` (0: the main one) computed
 * since the pool opened, for statistics and tests. Read while no task runs.
 */
export function threadPoolBlocks(control: usize, id: i32): i32 {
  if (id < 0 || id > load<i32>(control + HELPERS)) return 0;
  return scratchOf(control, id).done;
}

/**
 * Y (r x q, ld q) = A V for symmetric A (r x r, lower triangle, ld lda) and V (r x q, ld q), by
 * block rows of `block` (<= 512) over the pool: gram.ts symmLower, bitwise.
 */
export function parallelSymmLower(control: usize, r: i32, q: i32, a: usize, lda: i32, v: usize, y: usize, block: i32): void {
  if (block > SYMM_MAX_BLOCK) abort("parallelSymmLower: block too large");
  const task = taskOf(control);
  task.kind = TASK_SYMM;
  task.block = block;
  task.blocks = (r + block - 1) / block;
  task.n = r;
  task.k = q;
  task.a = a;
  task.lda = lda;
  task.b = v;
  task.c = y;
  runTask(control);
}

/** blas.ts gemmLowerF64 (same arguments) over the pool, bitwise. */
export function parallelGemmLowerF64(
  control: usize, transA: i32, transB: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
): void {
  if (n <= 0) return;
  const task = taskOf(control);
  task.kind = TASK_LOWER;
  task.block = LOWER_BLOCK;
  task.blocks = (n + LOWER_BLOCK - 1) / LOWER_BLOCK;
  task.n = n;
  task.k = k;
  task.transA = transA;
  task.transB = transB;
  task.alpha = alpha;
  task.beta = beta;
  task.a = a;
  task.lda = lda;
  task.b = b;
  task.ldb = ldb;
  task.c = c;
  task.ldc = ldc;
  runTask(control);
}
