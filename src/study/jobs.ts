/**
 * Running a study as independent jobs (one per (unit, image) pair), so that it can be spread over a
 * worker pool, interrupted and resumed, and sliced across machines:
 *
 * - every finished job is written to `<out>/jobs/<key>.json` (+ its binary side files) under a
 *   temporary name and renamed when complete, so a job file is either whole or absent;
 * - `resume` skips jobs whose file exists; leftover temporary files of an interrupted run are removed;
 * - `shard` {index k (1-based), count N} runs only the jobs at positions p with p mod N = k - 1, a
 *   deterministic slice; `mergeShards` gathers the job files of all N shard directories, so the final
 *   summary is built from exactly the same records as an unsharded run's, byte for byte.
 *
 * Results always pass through their JSON form before a summary is built from them, so a summary
 * never depends on whether a record came from memory, from disk, or from another shard.
 */
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface Shard {
  index: number;
  count: number;
}

/** Parse "k/N" (1 <= k <= N). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new InputError(`--shard must be k/N with 1 <= k <= N, got "${text}"`);
  return { index, count };
}

export interface JobRecord {
  key: string;
  [field: string]: unknown;
}

export interface StudyManifest {
  /** Everything that determines the jobs' results (model, method, options, job keys in order). */
  study: Record<string, unknown> & { jobs: string[] };
  shard?: Shard;
}

export interface RunJobsOptions<J> {
  manifest: StudyManifest;
  jobs: J[];
  keyOf(job: J): string;
  /** Computes one job: its JSON record and optional side files (name -> bytes, written beside it). */
  run(job: J): Promise<{ record: JobRecord; files?: Record<string, Uint8Array> }>;
  outDir?: string;
  resume?: boolean;
  /** Jobs in flight at once (the worker pool's size). */
  concurrency?: number;
  onJobDone?(done: number, total: number): void;
}

const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

async function readRecord(path: string): Promise<JobRecord | undefined> {
  const fs = await import('node:fs/promises');
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as JobRecord;
  } catch {
    return undefined;
  }
}

/** Remove temporary files an interrupted run left behind (see writeFileAtomic). */
async function removeTemporaries(dir: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names: string[] = [];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.includes('.tmp-')).map((n) => fs.rm(join(dir, n), { force: true })));
}

async function checkManifest(outDir: string, manifest: StudyManifest): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const path = join(outDir, 'study.json');
  let existing: StudyManifest | undefined;
  try {
    existing = JSON.parse(await fs.readFile(path, 'utf8')) as StudyManifest;
  } catch {
    existing = undefined;
  }
  if (existing && JSON.stringify(existing) !== JSON.stringify(roundTrip(manifest))) {
    throw new InputError(`${outDir} holds results of a different study or shard (study.json differs); use another --out`);
  }
  if (!existing) await writeFileAtomic(path, JSON.stringify(manifest) + '\n');
}

/**
 * Run the jobs of this shard (all when no shard is given), writing each job's record as it finishes;
 * returns the records of this shard's jobs in job order.
 */
export async function runJobs<J>(options: RunJobsOptions<J>): Promise<JobRecord[]> {
  const { manifest, outDir } = options;
  const { join } = await import('node:path');
  const shard = manifest.shard;
  const mine = options.jobs.filter((_, p) => !shard || p % shard.count === shard.index - 1);
  if (outDir) {
    await checkManifest(outDir, manifest);
    await removeTemporaries(join(outDir, 'jobs'));
  }
  const records: (JobRecord | undefined)[] = new Array(mine.length);
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (next < mine.length) {
      const position = next++;
      const job = mine[position];
      const key = options.keyOf(job);
      const path = outDir ? join(outDir, 'jobs', `${key}.json`) : undefined;
      let record = path && options.resume ? await readRecord(path) : undefined;
      if (!record) {
        const result = await options.run(job);
        record = roundTrip(result.record);
        if (outDir) {
          for (const [name, bytes] of Object.entries(result.files ?? {})) await writeFileAtomic(join(outDir, 'jobs', name), bytes);
          // The record goes last: its presence means the job, side files included, is complete.
          await writeFileAtomic(path!, JSON.stringify(record) + '\n');
        }
      }
      records[position] = record;
      options.onJobDone?.(++done, mine.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 1, mine.length)) }, worker));
  return records as JobRecord[];
}

/**
 * Gather the job files of shard directories into `outDir` and return all records in job order, with
 * the study manifest. Errors: InputError when the shards belong to different studies, a shard is
 * missing, or a job has no record.
 */
export async function mergeShards(shardDirs: string[], outDir: string): Promise<{ manifest: StudyManifest; records: JobRecord[] }> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  if (shardDirs.length === 0) throw new InputError('merge needs at least one shard directory');
  let study: StudyManifest['study'] | undefined;
  const shards = new Set<number>();
  let count = 0;
  for (const dir of shardDirs) {
    let manifest: StudyManifest;
    try {
      manifest = JSON.parse(await fs.readFile(join(dir, 'study.json'), 'utf8')) as StudyManifest;
    } catch {
      throw new InputError(`${dir}: no study.json (not an output directory of a sharded run)`);
    }
    if (study && JSON.stringify(manifest.study) !== JSON.stringify(study)) throw new InputError(`${dir}: belongs to a different study than ${shardDirs[0]}`);
    study = manifest.study;
    if (manifest.shard) {
      shards.add(manifest.shard.index);
      count = manifest.shard.count;
    }
  }
  const records: JobRecord[] = [];
  for (const key of study!.jobs) {
    let record: JobRecord | undefined;
    for (const dir of shardDirs) {
      record = await readRecord(join(dir, 'jobs', `${key}.json`));
      if (record) {
        const files = (await fs.readdir(join(dir, 'jobs'))).filter((n) => n.startsWith(`${key}.`) && !n.includes('.tmp-'));
        for (const name of files) await writeFileAtomic(join(outDir, 'jobs', name), await fs.readFile(join(dir, 'jobs', name)));
        break;
      }
    }
    if (!record) {
      const missing = count ? Array.from({ length: count }, (_, i) => i + 1).filter((k) => !shards.has(k)) : [];
      throw new InputError(`job ${key} has no result in the given directories${missing.length ? ` (shards ${missing.join(', ')} of ${count} not given)` : ''}`);
    }
    records.push(record);
  }
  const manifest: StudyManifest = { study: study! };
  await writeFileAtomic(join(outDir, 'study.json'), JSON.stringify(manifest) + '\n');
  return { manifest, records };
}
