/**
 * Shared-memory threads for the band reduction of gram.ts, the products of conv-gemm.ts and the
 * two-stage bidiagonalization of band.ts (the "threads" build only).
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
 * The blocks are blas.ts's own (symmLowerBlock, gemmLowerBlock in f64 or f32, gemmF64OnBuffers, on
 * packing buffers the main thread allocated per thread), so the rounding is that of the single-threaded
 * products. Besides the band reduction, the pool serves blas.ts gemmLowerF64 (parallelGemmLowerF64,
 * exported) and gemmF64 (parallelGemmF64, which conv-gemm.ts's convolutions use while a pool is open).
 * The Gram route's chase task (TASK_CHASE) hands out whole sweeps from NEXT instead; gram.ts bandSweep
 * orders them. Only the two chases sleep through an import (waitUntilAtLeast); the pool's own waits stay as they are.
 */

import {
  GEMM_F64_PACKED_A_BYTES, GEMM_F64_PACKED_B_BYTES, LOWER_BLOCK, gemmF64OnBuffers, gemmLowerBlock, gemmLowerBlockF64,
  symmLowerBlock, symmLowerBlockF64,
} from "./blas";
import { chaseSweep } from "./band";
import { gramChaseSweeps } from "./gram";

/** Seconds since some origin (performance.now() / 1000 of the instantiating thread): profiling only. */
@external("env", "clock")
declare function clock(): f64;

/**
 * Sleep while the i32 at byte address `word` holds `value`, at most ~50 microseconds (JavaScript's
 * Atomics.wait on the shared memory; see waitUntilAtLeast for why not memory.atomic.wait32).
 */
@external("env", "sleepWhile")
declare function sleepWhile(word: usize, value: i32): void;

/**
 * Wait until the i32 at byte address `word` is at least `target` (threads build; a no-op otherwise):
 * the bulge chases' wait for the sweep ahead (gram.ts bandSweep, band.ts chaseSweep). It spins first
 * (the other thread's steps take microseconds), then sleeps in slices of ~50 microseconds through
 * sleepWhile: on a busy machine the other thread may be off its core for a whole time slice, which pure
 * spinning turned into 10-30x slower chases. Why an import and not memory.atomic.wait32: with wait32 in
 * a chase (in the waiting function, with the word in a global, or in a callee binaryen inlines) the
 * threaded chase differed from the one-thread chase in its first sweeps under Node 20's baseline
 * compiler (Liftoff, which runs a function's first calls), never with --no-liftoff; across an imported
 * call every local is kept as usual.
 */
export function waitUntilAtLeast(word: usize, target: i32): void {
  if (ASC_FEATURE_THREADS) {
    let spins = 0;
    while (true) {
      const seen = atomic.load<i32>(word);
      if (seen >= target) return;
      if (++spins > 2000) {
        sleepWhile(word, seen);
        spins = 0;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The blocks of the two products. Each is a function of its own, called once per block, so that V8
// runs them optimized (it tiers a WebAssembly function up between calls, never inside one).

/** Per-thread scratch: the two GEMM packing buffers and a square block (SYMM_MAX_BLOCK^2 f64). */
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

/** Block j of gram.ts symmLower (blas.ts symmLowerBlockF64). */
function symmBlock(task: PoolTask, j: i32, s: ThreadScratch): void {
  symmLowerBlockF64(task.n, task.k, task.a, task.lda, task.b, task.c, j * task.block, task.block, s.square, s.packedA, s.packedB);
}

/** Block j of the f32 symmetric product (blas.ts symmLowerBlock<f32>). */
function symmBlockF32(task: PoolTask, j: i32, s: ThreadScratch): void {
  symmLowerBlock<f32>(task.n, task.k, task.a, task.lda, task.b, task.c, j * task.block, task.block, s.square, s.packedA, s.packedB);
}

/** Block rows [i0, i0 + LOWER_BLOCK) of blas.ts gemmLowerF32 (gemmLowerBlock<f32>). */
function lowerBlockF32(task: PoolTask, blockIndex: i32, s: ThreadScratch): void {
  gemmLowerBlock<f32>(
    task.transA != 0, task.transB != 0, task.n, task.k, <f32>task.alpha, task.a, task.lda, task.b, task.ldb,
    <f32>task.beta, task.c, task.ldc, blockIndex * LOWER_BLOCK, s.square, s.packedA, s.packedB,
  );
}

/** Block rows [i0, i0 + LOWER_BLOCK) of blas.ts gemmLowerF64 (gemmLowerBlockF64). */
function lowerBlock(task: PoolTask, blockIndex: i32, s: ThreadScratch): void {
  gemmLowerBlockF64(
    task.transA != 0, task.transB != 0, task.n, task.k, task.alpha, task.a, task.lda, task.b, task.ldb,
    task.beta, task.c, task.ldc, blockIndex * LOWER_BLOCK, s.square, s.packedA, s.packedB,
  );
}

/**
 * Rows [i0, i0 + GEMM_ROWS) of a general GEMM (blas.ts gemmF64 on this thread's packing buffers): a
 * row of C depends only on its row of op(A) and on op(B), summed in the same blocked order whoever
 * computes it, so the result is bitwise gemmF64's.
 */
function gemmBlock(task: PoolTask, blockIndex: i32, s: ThreadScratch): void {
  const i0 = blockIndex * task.block;
  const rows = min(task.block, task.m - i0);
  const a = task.transA != 0 ? task.a + (<usize>i0 << 3) : task.a + ((<usize>i0 * <usize>task.lda) << 3);
  gemmF64OnBuffers(
    task.transA != 0, task.transB != 0, rows, task.n, task.k, task.alpha, a, task.lda, task.b, task.ldb,
    task.beta, task.c + ((<usize>i0 * <usize>task.ldc) << 3), task.ldc, s.packedA, s.packedB,
  );
}

/** Rows of C per block of parallelGemmF64: blas.ts's MC (each block packs op(B) once more). */
const GEMM_ROWS: i32 = 96;

// ---------------------------------------------------------------------------------------------------
// The pool

const TASK_SYMM: i32 = 1;
const TASK_LOWER: i32 = 2;
const TASK_STOP: i32 = 3;
const TASK_GEMM: i32 = 4;
const TASK_SYMM_F32: i32 = 5;
const TASK_LOWER_F32: i32 = 6;
/** The Gram route's bulge chase: every thread takes whole sweeps (gram.ts gramChaseSweeps), not blocks. */
const TASK_CHASE: i32 = 7;
/** band.ts's bidiagonal bulge chase: sweeps handed out as blocks (chaseBlock). */
const TASK_BAND_CHASE: i32 = 8;

// Control block: the words threads synchronize on, each on a 64-byte line of its own, then the task.
const SEQ: usize = 0;
const ACK: usize = 64;
const NEXT: usize = 128;
const DEAD: usize = 192;
const HELPERS: usize = 256;
const TASK: usize = 320;
const SCRATCH: usize = 448;
/** Seconds the main thread spent in runTask (f64), tasks run (i32): profiling. */
const SECONDS: usize = SCRATCH - 16;
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
  /** Rows of C (the parallel GEMMs). */
  m: i32;
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
  if (kind == TASK_CHASE) {
    // task: n, block = b, ldc = ldb, c = band, a = progress, k = element size; scratch: the square.
    gramChaseSweeps(task.k, task.n, task.block, task.c, task.ldc, task.a, control + NEXT, s.square);
    s.done++;
    return;
  }
  while (true) {
    const t = atomic.add<i32>(control, 1, NEXT);
    if (t >= blocks) break;
    // Lower-triangle blocks grow with their index: hand the largest out first.
    if (kind == TASK_LOWER) lowerBlock(task, blocks - 1 - t, s);
    else if (kind == TASK_SYMM) symmBlock(task, t, s);
    else if (kind == TASK_GEMM) gemmBlock(task, t, s);
    else if (kind == TASK_BAND_CHASE) chaseBlock(task, t, s);
    else if (kind == TASK_LOWER_F32) lowerBlockF32(task, blocks - 1 - t, s);
    else symmBlockF32(task, t, s);
    s.done++;
  }
}

/** Spins on a word before sleeping on it: most waits here are short. */
const SPINS: i32 = 2000;

/** Post the task at control + TASK to the helpers, take part in it, and wait until all are done. */
function runTask(control: usize): void {
  const started = clock();
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
  store<f64>(control + SECONDS, load<f64>(control + SECONDS) + (clock() - started));
  store<i32>(control + SECONDS + 8, load<i32>(control + SECONDS + 8) + 1);
}

/**
 * THREADPOOLSECONDS (main instance): seconds the main thread has spent in pool tasks (the threaded
 * products and chase, start to last helper's answer) since the pool opened; `tasks` != 0: the number
 * of tasks instead. Profiling: the band reduction's time minus this is its serial part.
 */
export function threadPoolSeconds(control: usize, tasks: i32): f64 {
  return tasks ? <f64>load<i32>(control + SECONDS + 8) : load<f64>(control + SECONDS);
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
    s.packedA = heap.alloc(GEMM_F64_PACKED_A_BYTES);
    s.packedB = heap.alloc(GEMM_F64_PACKED_B_BYTES);
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
  postSymm(control, TASK_SYMM, r, q, a, lda, v, y, block);
}

function postSymm(control: usize, kind: i32, r: i32, q: i32, a: usize, lda: i32, v: usize, y: usize, block: i32): void {
  if (block > SYMM_MAX_BLOCK) abort("parallelSymmLower: block too large");
  const task = taskOf(control);
  task.kind = kind;
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
  postLower(control, TASK_LOWER, transA, transB, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

function postLower(
  control: usize, kind: i32, transA: i32, transB: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
): void {
  if (n <= 0) return;
  postProduct(control, kind, LOWER_BLOCK, transA, transB, n, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/** Post a product C = alpha op(A) op(B) + beta C (m x n) of `kind`, handed out by blocks of `block` rows. */
function postProduct(
  control: usize, kind: i32, block: i32, transA: i32, transB: i32, m: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
): void {
  const task = taskOf(control);
  task.kind = kind;
  task.block = block;
  task.blocks = (m + block - 1) / block;
  task.m = m;
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

/**
 * blas.ts gemmF64 (same arguments: C = alpha op(A) op(B) + beta C, m x n) over the pool by blocks of
 * GEMM_ROWS rows of C, bitwise (gemmBlock). conv-gemm.ts's batched convolutions call it while a pool
 * is open.
 */
export function parallelGemmF64(
  control: usize, transA: i32, transB: i32, m: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32,
): void {
  parallelGemmRowsF64(control, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, GEMM_ROWS);
}

/**
 * blas.ts gemmF64 (same arguments) over the pool, by block rows of C of `block` rows (a multiple of 4
 * keeps every block on whole micro-kernel tiles; band.ts sizes them to the pool). Each entry of C sums
 * its products in the order of gemmF64, whatever the split, so the result is bitwise that of gemmF64.
 */
export function parallelGemmRowsF64(
  control: usize, transA: i32, transB: i32, m: i32, n: i32, k: i32,
  alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32, block: i32,
): void {
  if (m <= 0 || n <= 0) return;
  if (block < 1) abort("parallelGemmRowsF64: block must be positive");
  postProduct(control, TASK_GEMM, block, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/** Threads (main included) of the pool at `control`. */
export function threadPoolThreads(control: usize): i32 {
  return load<i32>(control + HELPERS) + 1;
}

// ---------------------------------------------------------------------------------------------------
// The pipelined bulge chase of band.ts (bandBidiagonalF64).

/**
 * Sweep t of the chase (band.ts chaseSweep with its progress array), on this thread's packing buffer
 * as scratch for the reflectors (4b + 3 values, far below its size).
 */
function chaseBlock(task: PoolTask, t: i32, s: ThreadScratch): void {
  const b = task.k;
  const v = s.packedA, x = v + (<usize>(b + 1) << 3), w = x + (<usize>(b + 1) << 3);
  chaseSweep(task.n, b, task.a, <usize>task.lda, t, v, x, w, task.b);
}

/**
 * band.ts's bulge chase (sweeps 0 .. n-3 of the band of width b in band storage at `band`, ld `ld`)
 * over the pool: the threads take sweeps in order from the counter and each step of sweep j waits
 * for sweep j - 1 to be far enough ahead (`progress`: n zeroed i32, see chaseSweep). Bitwise the
 * result of one thread.
 */
export function parallelChaseF64(control: usize, n: i32, b: i32, band: usize, ld: i32, progress: usize): void {
  if (n < 3) return;
  if (<usize>(4 * b + 3) * 8 > GEMM_F64_PACKED_A_BYTES) abort("parallelChaseF64: band too wide for the scratch");
  const task = taskOf(control);
  task.kind = TASK_BAND_CHASE;
  task.blocks = n - 2;
  task.n = n;
  task.k = b;
  task.a = band;
  task.lda = ld;
  task.b = progress;
  runTask(control);
}

/** parallelSymmLower for f32 A, V and Y (blas.ts symmLowerBlock<f32>), bitwise its one-thread result. */
export function parallelSymmLowerF32(control: usize, r: i32, q: i32, a: usize, lda: i32, v: usize, y: usize, block: i32): void {
  postSymm(control, TASK_SYMM_F32, r, q, a, lda, v, y, block);
}

/** blas.ts gemmLowerF32 (same arguments) over the pool, bitwise. */
export function parallelGemmLowerF32(
  control: usize, transA: i32, transB: i32, n: i32, k: i32,
  alpha: f32, a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32,
): void {
  postLower(control, TASK_LOWER_F32, transA, transB, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/**
 * The bulge chase of gram.ts gramBandToTridiagonal over the pool: every thread takes whole sweeps in
 * order and runs them pipelined (gram.ts bandSweep), bitwise the one-thread chase. `progress`: n
 * zeroed i32; elementSize 8 (f64) or 4 (f32); b + 1 <= SYMM_MAX_BLOCK^2 / 3.
 */
export function parallelChase(control: usize, elementSize: i32, n: i32, b: i32, band: usize, ldb: i32, progress: usize): void {
  if (<usize>(3 * (b + 1) * elementSize) > SQUARE_BYTES) abort("parallelChase: band too wide");
  const task = taskOf(control);
  task.kind = TASK_CHASE;
  task.blocks = 1;
  task.n = n;
  task.block = b;
  task.k = elementSize;
  task.c = band;
  task.ldc = ldb;
  task.a = progress;
  runTask(control);
}
