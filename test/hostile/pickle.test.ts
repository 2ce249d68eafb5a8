/** Hostile pickles: each is refused in bounded time with a one-line message naming the file. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readStateDict } from '../../src/model/checkpoint/torch.js';
import { bytes, legacyCheckpoint, u32 } from './pickles.js';
import { cliFails, rejectsInput, tempDir } from './support.js';

const PROTO = [0x80, 0x02];

test('a 200 KB LONG4 integer is refused at once (it used to be built byte by byte as a BigInt)', async () => {
  const huge = bytes(PROTO, [0x8b, ...u32(200_000)], new Uint8Array(200_000).fill(0x7f), [0x2e]);
  await rejectsInput(() => readStateDict(legacyCheckpoint(huge), 'big.th'), /^big\.th: unsupported pickle: a 200000-byte integer at byte \d+/);
  // As the first pickle of a file, it makes the file unrecognizable rather than slow.
  await rejectsInput(() => readStateDict(huge, 'big.th'), /^big\.th: not a PyTorch checkpoint/);
});

test('a LONG1 integer wider than 128 bits is refused', async () => {
  const wide = bytes(PROTO, [0x8a, 17], new Uint8Array(17).fill(1), [0x2e]);
  await rejectsInput(() => readStateDict(legacyCheckpoint(wide), 'wide.th'), /^wide\.th: unsupported pickle: a 17-byte integer/);
});

test('deeply nested MARKs are refused', async () => {
  const deep = bytes(PROTO, new Uint8Array(100_000).fill(0x28), [0x4e, 0x2e]);
  await rejectsInput(() => readStateDict(legacyCheckpoint(deep), 'deep.th'), /^deep\.th: unsupported pickle: more than 1000 nested MARKs/);
});

test('a memo index beyond the pickle is refused', async () => {
  const memo = bytes(PROTO, [0x4e, 0x72, ...u32(0xffffffff), 0x2e]);
  await rejectsInput(() => readStateDict(legacyCheckpoint(memo), 'memo.th'), /^memo\.th: corrupt pickle: memo index 4294967295 at byte \d+ exceeds/);
});

test('a list of millions of items is refused', async () => {
  // EMPTY_LIST, MARK, then 1.2 million NONEs, APPENDS.
  const list = bytes(PROTO, [0x5d, 0x28], new Uint8Array(1_200_000).fill(0x4e), [0x65, 0x2e]);
  await rejectsInput(() => readStateDict(legacyCheckpoint(list), 'list.th'), /^list\.th: unsupported pickle: more than 1048576 values on the stack/);
  // The same number of items appended one at a time to one list.
  const appends = new Uint8Array(2 * 1_100_000);
  for (let i = 0; i < appends.length; i += 2) appends.set([0x4e, 0x61], i);
  await rejectsInput(() => readStateDict(legacyCheckpoint(bytes(PROTO, [0x5d], appends, [0x2e])), 'appends.th'), /^appends\.th: unsupported pickle: a list of more than 1048576 items/);
});

test('CLI: import of a checkpoint holding a huge integer exits 1 at once, writing nothing', async () => {
  const dir = tempDir();
  const file = join(dir, 'big.th');
  writeFileSync(file, legacyCheckpoint(bytes(PROTO, [0x8b, ...u32(200_000)], new Uint8Array(200_000).fill(0x7f), [0x2e])));
  await cliFails(['import', file, '--out', join(dir, 'out')], 1, /big\.th: unsupported pickle: a 200000-byte integer/, { unchanged: dir });
});
