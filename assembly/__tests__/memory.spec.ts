import { allocate, allocatedBlocks, release } from "../memory";

describe("memory", () => {
  it("allocates 16-byte aligned blocks", () => {
    const p = allocate(24);
    expect<usize>(p & 15).toBe(0);
    release(p);
  });

  it("serves blocks past the TLSF limit from memory.grow and reuses them once released", () => {
    const bytes: usize = 300 << 20;
    const a = allocate(bytes);
    expect<usize>(a).toBeGreaterThan(0);
    expect<usize>(a & 0xffff).toBe(0);
    store<f64>(a + bytes - 8, 1.5);
    expect<f64>(load<f64>(a + bytes - 8)).toBe(1.5);
    const b = allocate(bytes);
    expect<bool>(a == b).toBe(false, "a block in use is not handed out twice");
    release(a);
    expect<usize>(allocate(bytes - 4096)).toBe(a, "a released large block is reused");
    release(a);
    release(b);
  });

  it("reserves new large blocks at the next power of two, so slightly larger requests reuse them", () => {
    const a = allocate(300 << 20);
    release(a);
    expect<usize>(allocate(500 << 20)).toBe(a, "a 300 MiB request reserved 512 MiB");
    release(a);
  });

  it("merges free neighbouring large blocks and grows the one at the end of memory in place", () => {
    const a = allocate(300 << 20);
    const b = allocate(300 << 20);
    expect<usize>(b).toBe(a + (512 << 20), "large blocks taken one after another are adjacent");
    release(a);
    release(b);
    const pagesBefore = memory.size();
    const c = allocate(700 << 20);
    expect<usize>(c).toBe(a, "two free 512 MiB neighbours serve a 700 MiB request");
    expect<i32>(memory.size()).toBe(pagesBefore);
    release(c);
    const d = allocate(1536 << 20);
    expect<usize>(d).toBe(a, "the free block at the end of memory is extended, not abandoned");
    expect<i32>(memory.size() - pagesBefore).toBe((512 << 20) >> 16);
    release(d);
  });

  it("counts the blocks handed out and not yet released, small and large", () => {
    const before = allocatedBlocks();
    const small = allocate(64);
    const large = allocate(300 << 20);
    expect<i32>(allocatedBlocks()).toBe(before + 2);
    release(large);
    expect<i32>(allocatedBlocks()).toBe(before + 1);
    release(small);
    expect<i32>(allocatedBlocks()).toBe(before);
  });
});
