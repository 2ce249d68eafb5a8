/**
 * Declared sizes that lie: tensors larger than their storage, zip members and PNG/JPEG data that
 * inflate far beyond what they declare. Each is refused before the memory is spent.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDeflateRaw, crc32, deflateSync } from 'node:zlib';
import { readStateDict } from '../../src/model/checkpoint/torch.js';
import { decodeImage } from '../../src/data/image.js';
import { decodePng } from '../../src/data/png.js';
import { bytes, rawZip, tensorDictPickle, zipCheckpoint } from './pickles.js';
import { cliFails, rejectsInput, tempDir } from './support.js';

const GiB = 2 ** 30;

/** A raw deflate stream of `total` zero bytes (about 1 KB per MiB), made without holding them. */
async function zeroBomb(total: number): Promise<Uint8Array> {
  const chunk = Buffer.alloc(2 ** 20);
  const deflate = createDeflateRaw({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  for (let written = 0; written < total; written += chunk.length) {
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return new Uint8Array(Buffer.concat(parts));
}

const bomb = zeroBomb(GiB);

test('a 20000 x 20000 tensor with stride 0 on a 1-element storage is refused before allocating', async () => {
  const file = zipCheckpoint(tensorDictPickle(1, 0, [20000, 20000], [0, 0]), new Uint8Array(4));
  assert.ok(file.length < 1000);
  await rejectsInput(() => readStateDict(file, 'wide.th'), /^wide\.th: tensor 'w' of size \[20000,20000\] has more elements than its storage 'key' \(1\)$/);
});

test('a 2^20 x 2^20 tensor is refused with a message, not "Invalid typed array length"', async () => {
  const file = zipCheckpoint(tensorDictPickle(4, 0, [2 ** 20, 2 ** 20], [2 ** 20, 1]), new Uint8Array(16));
  await rejectsInput(() => readStateDict(file, 'huge.th'), /^huge\.th: tensor 'w' of size \[1048576,1048576\] has more elements than its storage/);
});

test('a storage of 2^40 elements is refused before its member is read', async () => {
  const file = zipCheckpoint(tensorDictPickle(2 ** 31 - 1, 0, [2], [1]), new Uint8Array(8));
  await rejectsInput(() => readStateDict(file, 'big.th'), /^big\.th: storage 'key' of tensor 'w' declares 8589934588 bytes, more than the 268435456/);
});

test('an offset past the storage is refused', async () => {
  const file = zipCheckpoint(tensorDictPickle(4, 2 ** 30, [2], [1]), new Uint8Array(16));
  await rejectsInput(() => readStateDict(file, 'off.th'), /^off\.th: tensor 'w' reaches past the end of its storage 'key'$/);
});

test('a zip member that inflates to 1 GiB while declaring 16 bytes is refused at once', async () => {
  const data = await bomb;
  const file = rawZip([
    { name: 'archive/data.pkl', data: tensorDictPickle(4, 0, [4], [1]) },
    { name: 'archive/data/key', data, method: 8, size: 16 },
  ]);
  await rejectsInput(() => readStateDict(file, 'bomb.th'), /^bomb\.th: truncated or corrupt zip archive \(archive\/data\/key does not inflate to its declared 16 bytes/);
});

test('a zip member that declares 1 GiB for a 16-byte storage is refused without inflating', async () => {
  const file = rawZip([
    { name: 'archive/data.pkl', data: tensorDictPickle(4, 0, [4], [1]) },
    { name: 'archive/data/key', data: await bomb, method: 8, size: GiB },
  ]);
  await rejectsInput(() => readStateDict(file, 'liar.th'), /^liar\.th: zip member archive\/data\/key declares 1073741824 bytes, more than the 16 it may hold$/);
});

test('a 1 GiB member the state dict does not reference is never inflated', async () => {
  const storage = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const pickle = tensorDictPickle(4, 0, [4], [1]);
  const file = rawZip([
    { name: 'archive/data.pkl', data: pickle, crc: crc32(pickle) },
    { name: 'archive/data/key', data: storage, crc: crc32(storage) },
    { name: 'archive/data/unused', data: await bomb, method: 8, size: GiB },
  ]);
  const start = performance.now();
  const dict = readStateDict(file, 'extra.th');
  assert.ok(performance.now() - start < 1000);
  assert.deepEqual([...dict.get('w')!.data], [1, 2, 3, 4]);
});

test('a zip member whose CRC is wrong is refused', async () => {
  const storage = new Uint8Array(16);
  const pickle = tensorDictPickle(4, 0, [4], [1]);
  const file = rawZip([
    { name: 'archive/data.pkl', data: pickle, crc: crc32(pickle) },
    { name: 'archive/data/key', data: storage, crc: 12345 },
  ]);
  await rejectsInput(() => readStateDict(file, 'crc.th'), /^crc\.th: truncated or corrupt zip archive \(CRC mismatch in archive\/data\/key\)$/);
});

/** A PNG from an IHDR (width, height, 8-bit RGB) and one IDAT holding `zlib`, CRCs right. */
function png(width: number, height: number, zlib: Uint8Array): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const body = bytes(type, data);
    const be32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
    return bytes(be32(data.length), body, be32(crc32(body)));
  };
  const be32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], chunk('IHDR', bytes(be32(width), be32(height), [8, 2, 0, 0, 0])), chunk('IDAT', zlib), chunk('IEND', new Uint8Array(0)));
}

/** A zlib stream around a raw deflate stream (the Adler-32 is never reached). */
const zlibOf = (deflate: Uint8Array): Uint8Array => bytes([0x78, 0x9c], deflate, [0, 0, 0, 0]);

test('a 32x32 PNG whose data inflates to 1 GiB is refused at the expected byte count', async () => {
  const file = png(32, 32, zlibOf(await bomb));
  assert.ok(file.length < 1.2 * 2 ** 20);
  await rejectsInput(() => decodeImage(file, 'bomb.png'), /^bomb\.png: invalid PNG \(image data inflates to more than the 3104 bytes expected\)$/);
});

test('a PNG declaring 2^31-1 x 2^31-1 pixels is refused without allocating them', async () => {
  const file = png(2 ** 31 - 1, 2 ** 31 - 1, deflateSync(Buffer.alloc(1000)));
  await rejectsInput(() => decodePng(file, 'giant.png'), /^giant\.png: invalid PNG \(image data inflates to 1000 bytes, expected \d+\)$/);
  await rejectsInput(() => decodeImage(file, 'giant.png'), /^giant\.png: image is 2147483647x2147483647 pixels; expected 32x32/);
});

test('a JPEG with a second, huge frame header is refused by the decoder limits', async () => {
  const sof = (height: number, width: number): number[] => [0xff, 0xc0, 0, 17, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0];
  const file = bytes([0xff, 0xd8], sof(32, 32), sof(60000, 60000), [0xff, 0xd9]);
  await rejectsInput(() => decodeImage(file, 'two-frames.jpg'), /^two-frames\.jpg: invalid JPEG \(/);
});

test('CLI: predict on a PNG bomb exits 1 in bounded time and memory', async () => {
  const dir = tempDir();
  const file = join(dir, 'bomb.png');
  writeFileSync(file, png(32, 32, zlibOf(await bomb)));
  await cliFails(['predict', '--model', 'resnet56', '--data', file], 1, /bomb\.png: invalid PNG \(image data inflates to more than the 3104 bytes expected\)/, { unchanged: dir });
});

test('CLI: import of a zip bomb checkpoint exits 1 in bounded time and memory, writing nothing', async () => {
  const dir = tempDir();
  const file = join(dir, 'bomb.th');
  writeFileSync(file, rawZip([
    { name: 'archive/data.pkl', data: tensorDictPickle(4, 0, [4], [1]) },
    { name: 'archive/data/key', data: await bomb, method: 8, size: 16 },
  ]));
  await cliFails(['import', file, '--out', join(dir, 'out')], 1, /bomb\.th: truncated or corrupt zip archive/, { unchanged: dir });
});

