import { allocate, release } from "../memory";
describe("memory", () => {
  it("allocates 16-byte aligned blocks", () => {
    const p = allocate(24);
    expect<usize>(p & 15).toBe(0);
    release(p);
  });
});
