/**
 * A problem with a checkpoint's bytes, described without the file name. `readStateDict` turns it into
 * an `InputError` that prefixes the file name, so the lower layers (zip, pickle, storages) need not
 * carry it around.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}
