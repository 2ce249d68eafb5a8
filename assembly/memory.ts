/**
 * WASM linear-memory ownership.
 *
 * Every buffer that crosses the TypeScript/WASM boundary is allocated here and released here, so the
 * TypeScript side (src/wasm/kernels.ts) has exactly one place to ask for memory. Blocks are 16-byte
 * aligned (v128 loads on f64/f32 data are aligned when the offset is) and are not tracked by the GC:
 * the caller frees what it allocates.
 *
 * Ordinary blocks come from the runtime's TLSF heap, which cannot hand out a single block of 1 GiB or
 * more. Large blocks (dense unit Jacobians are 1-2 GiB) therefore come straight from `memory.grow` and
 * are kept in a small table; WASM memory never shrinks, so a released large block is reused by the next
 * large request that fits rather than returned.
 */

/** Requests of at least this many bytes bypass the TLSF heap. */
const LARGE_BLOCK: usize = 256 << 20;
const MAX_LARGE_BLOCKS = 64;
const largePointers = new StaticArray<usize>(MAX_LARGE_BLOCKS);
const largeSizes = new StaticArray<usize>(MAX_LARGE_BLOCKS);
const largeInUse = new StaticArray<bool>(MAX_LARGE_BLOCKS);
let largeCount = 0;
/** Blocks handed out by `allocate` and not yet released. */
let blocksInUse = 0;

function bestFreeLarge(bytes: usize): i32 {
  let best = -1;
  for (let i = 0; i < largeCount; i++) {
    if (largeInUse[i] || largeSizes[i] < bytes) continue;
    if (best < 0 || largeSizes[i] < largeSizes[best]) best = i;
  }
  return best;
}

/** Merge free large blocks that are adjacent in memory (blocks grown one after another). */
function coalesceFreeLarge(): void {
  for (let merged = true; merged; ) {
    merged = false;
    for (let i = 0; i < largeCount && !merged; i++) {
      if (largeInUse[i]) continue;
      for (let j = 0; j < largeCount; j++) {
        if (j == i || largeInUse[j] || largePointers[i] + largeSizes[i] != largePointers[j]) continue;
        largeSizes[i] += largeSizes[j];
        removeLarge(j);
        merged = true;
        break;
      }
    }
  }
}

function removeLarge(j: i32): void {
  largeCount--;
  largePointers[j] = largePointers[largeCount];
  largeSizes[j] = largeSizes[largeCount];
  largeInUse[j] = largeInUse[largeCount];
}

/**
 * New large blocks are reserved at the next power of two (up to 2 GiB), so that the similar but unequal
 * sizes of successive jobs (the Gram matrices of one stage's units at different images differ by up to
 * 20 %) fit the block the previous job released. Reserved pages that are never touched cost address
 * space only: the engine maps grown memory lazily.
 */
function reservedSize(bytes: usize): usize {
  const twoGiB: usize = 1 << 31;
  if (bytes >= twoGiB) return bytes;
  let size: usize = LARGE_BLOCK;
  while (size < bytes) size <<= 1;
  return size;
}

/**
 * A large block: a free one that fits (best fit, after merging free neighbours); else the free block at
 * the end of memory grown in place; else fresh pages. Without the merging and the in-place growth, jobs
 * that need slightly different large sizes one after another (Gram matrices of different orders) would
 * each grow memory anew and exhaust the 4 GiB after a few of them.
 */
function allocateLarge(bytes: usize): usize {
  let best = bestFreeLarge(bytes);
  if (best < 0) {
    coalesceFreeLarge();
    best = bestFreeLarge(bytes);
  }
  if (best >= 0) {
    largeInUse[best] = true;
    return largePointers[best];
  }
  const end = (<usize>memory.size()) << 16;
  for (let i = 0; i < largeCount; i++) {
    if (largeInUse[i] || largePointers[i] + largeSizes[i] != end) continue;
    const extra = <i32>((bytes - largeSizes[i] + 0xffff) >> 16);
    if (memory.grow(extra) < 0) return 0;
    largeSizes[i] += (<usize>extra) << 16;
    largeInUse[i] = true;
    return largePointers[i];
  }
  if (largeCount == MAX_LARGE_BLOCKS) return 0;
  const pages = <i32>((reservedSize(bytes) + 0xffff) >> 16);
  const before = memory.grow(pages);
  if (before < 0) return 0;
  const ptr = (<usize>before) << 16;
  largePointers[largeCount] = ptr;
  largeSizes[largeCount] = (<usize>pages) << 16;
  largeInUse[largeCount] = true;
  largeCount++;
  return ptr;
}

/**
 * Allocate `bytes` bytes, 16-byte aligned. Returns 0 when a large block cannot be had (memory is capped
 * at 4 GiB); an ordinary block that does not fit traps with the heap's message.
 */
export function allocate(bytes: usize): usize {
  const ptr = bytes >= LARGE_BLOCK ? allocateLarge(bytes) : heap.alloc(bytes);
  if (ptr) blocksInUse++;
  return ptr;
}

/** Release a block returned by `allocate`. */
export function release(ptr: usize): void {
  blocksInUse--;
  for (let i = 0; i < largeCount; i++) {
    if (largePointers[i] == ptr) {
      largeInUse[i] = false;
      return;
    }
  }
  heap.free(ptr);
}

/**
 * How many blocks `allocate` has handed out that are not yet released: the caller's accounting of what
 * it owns (blocks the kernels allocate for themselves, e.g. inside operator records, are not counted).
 */
export function allocatedBlocks(): i32 {
  return blocksInUse;
}
