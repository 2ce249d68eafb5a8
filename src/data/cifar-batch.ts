/**
 * A batch of CIFAR images as the readers return it (CIFAR-10 in cifar.ts, CIFAR-100 in cifar100.ts): its
 * own module so that the two readers share the type without importing each other.
 */
export interface CifarBatch {
  /** Number of images. */
  count: number;
  /** count labels, each 0..9 (CIFAR-100: the fine label, 0..99). */
  labels: Uint8Array;
  /** count x 3 x 32 x 32 bytes (CHW per image), images back to back. */
  pixels: Uint8Array;
  /** Where the bytes came from (a path or a name), for messages. */
  source: string;
}
