/**
 * Running a study as independent jobs (one per (unit, image) pair), so that it can be spread over a
 * worker pool, interrupted and resumed, and sliced across machines:
 *
 * - every finished job is written to `<out>/jobs/<key>.json` (+ its binary side files) under a
 *   temporary name and renamed when complete, so a job file is either whole or absent; before the
 *   record, `<key>.sum` records the length and SHA-256 of every file of the job, the record included;
 * - `resume` skips jobs whose files all match their `.sum` and recomputes the others (a file damaged
 *   or cut short after it was written, or a job written before values were kept as `.npy`: its raw
 *   `<key>.f64` is replaced by `<key>.npy`); leftover temporary files of an interrupted run are removed;
 * - one run at a time writes to an output directory: `<out>/.lock` names its process, a second run is
 *   refused with one line, and the lock of a process that no longer exists is taken over;
 * - `shard` {index k (1-based), count N} runs only the jobs dealt to shard k: by estimated cost (`cost`,
 *   LPT assignment of src/study/job-cost.ts, so that the shards finish together), or at positions p
 *   with p mod N = k - 1 when no cost is given; either way a deterministic slice. `mergeShards` gathers
 *   the job files of all N shard directories, so the final summary is built from exactly the same
 *   records as an unsharded run's, byte for byte;
 * - `wide` (issue 15) picks jobs that run one at a time on all threads (the executor's wide lane) while
 *   the other lanes take the rest: `laneOrder` says in which order each lane starts its jobs, from the
 *   estimated costs alone, so the schedule never depends on timing (only which lane gets to a job first
 *   once the wide jobs are done).
 *
 * Results always pass through their JSON form before a summary is built from them, so a summary
 * never depends on whether a record came from memory, from disk, or from another shard.
 */
import { InputError, UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { assignShards } from './job-cost.js';

export interface Shard {
  index: number;
  count: number;
}

/** Parse "k/N" (1 <= k <= N). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new UsageError(`--shard must be k/N with 1 <= k <= N, got "${text}"`);
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
  /** Estimated cost of a job (src/study/job-cost.ts): shards are dealt by it when given. */
  cost?(job: J): number;
  /**
   * Computes one job: its JSON record and optional side files (name -> bytes, written beside it).
   * `wide` is true for a job of the wide lane (see `wide`).
   */
  run(job: J, wide: boolean): Promise<{ record: JobRecord; files?: Record<string, Uint8Array> }>;
  /**
   * The jobs of the wide lane: one lane runs them one at a time, largest first (on all threads, as
   * `run` arranges), while concurrency - 1 lanes run the others, largest first; once the wide jobs are
   * done `onWideDone` is called and that lane takes the others too. Without it, `concurrency` lanes
   * take the jobs in job order.
   */
  wide?(job: J): boolean;
  onWideDone?(): void;
  outDir?: string;
  resume?: boolean;
  /** Jobs in flight at once (the worker pool's size). */
  concurrency?: number;
  onJobDone?(done: number, total: number): void;
}

const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A job's `.sum` file: every file of the job by name, with its length and SHA-256 when written. */
type JobSums = Record<string, { bytes: number; sha256: string }>;

/**
 * The file of a job's float64 values (a spectrum's, descending): a NumPy .npy vector, so that a user's
 * `numpy.load` reads it as is (src/util/npy.ts).
 */
export function jobValuesFile(key: string): string {
  return `${key}.npy`;
}

/** Raw `.f64` values files: how jobs were kept before `.npy`; such a job is recomputed, not read. */
const LEGACY_VALUES = /\.f64$/;

/** A file name a `.sum` may name: one inside its jobs folder. */
const isJobFileName = (name: string) => !/[\\/]/.test(name) && name !== '..' && name !== '.';

async function sha256(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Write a job's side files, its `.sum` and then its record (last: its presence means the job is
 * complete), each atomically.
 */
async function writeJob(jobsDir: string, key: string, record: JobRecord, files: Record<string, Uint8Array>): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const all: Record<string, Uint8Array> = { ...files, [`${key}.json`]: new TextEncoder().encode(JSON.stringify(record) + '\n') };
  const sums: JobSums = {};
  for (const [name, bytes] of Object.entries(all)) sums[name] = { bytes: bytes.length, sha256: await sha256(bytes) };
  for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(jobsDir, name), bytes);
  await writeFileAtomic(join(jobsDir, `${key}.sum`), JSON.stringify(sums) + '\n');
  await writeFileAtomic(join(jobsDir, `${key}.json`), all[`${key}.json`]!);
  // The raw values of an older version's run, now replaced by the .npy, would be left over looking like
  // results. Only this exact name: a .sum is input, and must not make us remove another job's files.
  if (!(`${key}.f64` in sums)) await fs.rm(join(jobsDir, `${key}.f64`), { force: true });
}

/**
 * The record of job `key` in `jobsDir` when the job is complete and every one of its files still has
 * the length and checksum its `.sum` recorded; 'absent' when there is no record; 'legacy' when its
 * values are a raw `.f64` file (written before `.npy`); 'damaged' otherwise (a file changed, cut short
 * or missing, or no `.sum`).
 */
async function readVerifiedJob(jobsDir: string, key: string): Promise<JobRecord | 'absent' | 'damaged' | 'legacy'> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  let recordBytes: Uint8Array;
  try {
    recordBytes = await fs.readFile(join(jobsDir, `${key}.json`));
  } catch {
    return 'absent';
  }
  try {
    const sums = JSON.parse(await fs.readFile(join(jobsDir, `${key}.sum`), 'utf8')) as JobSums;
    if (!sums[`${key}.json`]) return 'damaged';
    // A job's files live in its jobs folder: a name that would lead out of it is damage, not a file.
    if (!Object.keys(sums).every(isJobFileName)) return 'damaged';
    for (const [name, expected] of Object.entries(sums)) {
      const bytes = name === `${key}.json` ? recordBytes : await fs.readFile(join(jobsDir, name));
      if (bytes.length !== expected.bytes || (await sha256(bytes)) !== expected.sha256) return 'damaged';
    }
    if (Object.keys(sums).some((name) => LEGACY_VALUES.test(name))) return 'legacy';
    return JSON.parse(new TextDecoder().decode(recordBytes)) as JobRecord;
  } catch {
    return 'damaged';
  }
}

/** True when process `pid` exists on this machine (signal 0 tests without sending anything). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take `<outDir>/.lock` for this process and return its release. The lock file is complete the moment
 * it appears (written aside, then hard-linked into place, which fails if one exists). A lock held by a
 * live process is a one-line InputError; one left by a process that no longer exists is taken over.
 */
export async function lockOutputDir(outDir: string): Promise<() => Promise<void>> {
  const fs = await import('node:fs/promises');
  const { dirname, join, resolve } = await import('node:path');
  const { hostname } = await import('node:os');
  const path = join(outDir, '.lock');
  const mine = { pid: process.pid, host: hostname() };
  // A directory made only for the lock is removed with it, so a run refused early leaves nothing behind.
  const created = await fs.mkdir(outDir, { recursive: true });
  const aside = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(aside, JSON.stringify(mine) + '\n');
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fs.link(aside, path);
        return async () => {
          await fs.rm(path, { force: true });
          if (created === undefined) return;
          for (let dir = outDir; ; dir = dirname(dir)) {
            if (!(await fs.rmdir(dir).then(() => true, () => false)) || resolve(dir) === resolve(created)) break;
          }
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new InputError(`${outDir}: cannot take the lock ${path} (${(err as Error).message})`);
      }
      let holder: { pid?: unknown; host?: unknown } | undefined;
      try {
        holder = JSON.parse(await fs.readFile(path, 'utf8'));
      } catch {
        continue; // removed meanwhile: try again
      }
      const pid = typeof holder?.pid === 'number' ? holder.pid : undefined;
      if (holder?.host !== mine.host || pid === undefined || processExists(pid)) {
        const who = pid === undefined ? 'another run' : `another run (pid ${pid}${holder?.host !== mine.host ? ` on ${String(holder?.host)}` : ''})`;
        throw new InputError(`${outDir} is being written by ${who}; wait for it or use another --out (remove ${path} if no run is writing there)`);
      }
      // A stale lock: rename it away (only one of several contenders succeeds) and try again.
      await fs.rename(path, `${path}.stale-${process.pid}`).then(() => fs.rm(`${path}.stale-${process.pid}`, { force: true }), () => undefined);
    }
    throw new InputError(`${outDir}: another run took the lock at the same time; use another --out`);
  } finally {
    await fs.rm(aside, { force: true });
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

/** The jobs of `shard` (all without one), in job order: LPT by `cost` when given, else round-robin. */
export function shardJobs<J>(jobs: J[], shard: Shard | undefined, cost?: (job: J) => number): J[] {
  if (!shard) return jobs;
  const assigned = cost ? assignShards(jobs.map(cost), shard.count) : jobs.map((_, p) => p % shard.count);
  return jobs.filter((_, p) => assigned[p] === shard.index - 1);
}

/**
 * The order in which the lanes start jobs with the given costs, `wide[p]` marking the wide lane's:
 * positions of the wide jobs and of the others, each in decreasing cost (ties in job order). Longest
 * first keeps the end of a run short: what runs last is small (Graham's LPT argument).
 */
export function laneOrder(costs: readonly number[], wide: readonly boolean[]): { wide: number[]; narrow: number[] } {
  if (costs.length !== wide.length) throw new RangeError(`laneOrder needs one wide flag per job (${costs.length} costs, ${wide.length} flags)`);
  for (const c of costs) if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError(`job costs must be finite and >= 0, got ${c}`);
  const order = costs.map((_, p) => p).sort((a, b) => costs[b] - costs[a] || a - b);
  return { wide: order.filter((p) => wide[p]), narrow: order.filter((p) => !wide[p]) };
}

/**
 * Run the jobs of this shard (all when no shard is given), writing each job's record as it finishes;
 * returns the records of this shard's jobs in job order.
 */
export async function runJobs<J>(options: RunJobsOptions<J>): Promise<JobRecord[]> {
  const { manifest, outDir } = options;
  const { join } = await import('node:path');
  const shard = manifest.shard;
  const mine = shardJobs(options.jobs, shard, options.cost);
  const unlock = outDir ? await lockOutputDir(outDir) : undefined;
  try {
    if (outDir) {
      await checkManifest(outDir, manifest);
      await removeTemporaries(join(outDir, 'jobs'));
    }
    const records: (JobRecord | undefined)[] = new Array(mine.length);
    let done = 0;
    const concurrency = Math.max(1, options.concurrency ?? 1);
    const flags = options.wide ? mine.map((job) => options.wide!(job)) : [];
    const lanes = options.wide && concurrency > 1 && flags.some(Boolean);
    // Without a wide lane: every lane takes the next job in job order.
    const queues = lanes ? laneOrder(mine.map((job) => options.cost?.(job) ?? 0), flags) : { wide: [], narrow: mine.map((_, p) => p) };
    const jobsDir = outDir ? join(outDir, 'jobs') : undefined;
    const compute = async (position: number, wide: boolean) => {
      const job = mine[position];
      const key = options.keyOf(job);
      const found = jobsDir && options.resume ? await readVerifiedJob(jobsDir, key) : 'absent';
      let record = typeof found === 'object' ? found : undefined;
      if (!record) {
        const result = await options.run(job, wide);
        record = roundTrip(result.record);
        if (jobsDir) await writeJob(jobsDir, key, record, result.files ?? {});
      }
      records[position] = record;
      options.onJobDone?.(++done, mine.length);
    };
    let nextNarrow = 0;
    const narrowLane = async () => {
      while (nextNarrow < queues.narrow.length) await compute(queues.narrow[nextNarrow++], false);
    };
    const wideLane = async () => {
      try {
        for (const position of queues.wide) await compute(position, true);
      } finally {
        options.onWideDone?.();
      }
      await narrowLane();
    };
    const narrowLanes = Math.min(lanes ? concurrency - 1 : concurrency, queues.narrow.length);
    await Promise.all([...(lanes ? [wideLane()] : []), ...Array.from({ length: Math.max(lanes ? 0 : 1, narrowLanes) }, narrowLane)]);
    return records as JobRecord[];
  } finally {
    await unlock?.();
  }
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
  const unlock = await lockOutputDir(outDir);
  try {
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
      const jobs = (manifest as Partial<StudyManifest> | null)?.study?.jobs;
      if (!Array.isArray(jobs) || !jobs.every((key) => typeof key === 'string' && key !== '' && !/^[\\/]/.test(key) && !key.split(/[\\/]/).includes('..'))) {
        throw new InputError(`${join(dir, 'study.json')}: study.jobs is not a list of job keys (not an output directory of a sharded run)`);
      }
      if (study && JSON.stringify(manifest.study) !== JSON.stringify(study)) throw new InputError(`${dir}: belongs to a different study than ${shardDirs[0]}`);
      study = manifest.study;
      if (manifest.shard) {
        shards.add(manifest.shard.index);
        count = manifest.shard.count;
      }
    }
    const records: JobRecord[] = [];
    const sources: { dir: string; key: string }[] = [];
    for (const key of study!.jobs) {
      let record: JobRecord | undefined;
      for (const dir of shardDirs) {
        const found = await readVerifiedJob(join(dir, 'jobs'), key);
        if (found === 'damaged') {
          throw new InputError(`${join(dir, 'jobs', `${key}.json`)}: damaged (its files differ from the lengths and checksums in ${key}.sum); rerun that shard with --resume`);
        }
        if (found === 'legacy') {
          throw new InputError(`${join(dir, 'jobs', `${key}.json`)}: its values are a raw .f64 file of an older version (now .npy); rerun that shard with --resume`);
        }
        if (found !== 'absent') {
          record = found;
          sources.push({ dir, key });
          break;
        }
      }
      if (!record) {
        const missing = count ? Array.from({ length: count }, (_, i) => i + 1).filter((k) => !shards.has(k)) : [];
        throw new InputError(`job ${key} has no result in the given directories${missing.length ? ` (shards ${missing.join(', ')} of ${count} not given)` : ''}`);
      }
      records.push(record);
    }
    // Copied only once every job has a verified record, so a refused merge writes nothing.
    for (const { dir, key } of sources) {
      // Exactly the files the job's .sum names (a prefix match would also take unit1-alpha0.5 for unit1-alpha0).
      const files = Object.keys(JSON.parse(await fs.readFile(join(dir, 'jobs', `${key}.sum`), 'utf8')) as JobSums);
      for (const name of [...files.filter((n) => n !== `${key}.json`), `${key}.sum`, `${key}.json`]) await writeFileAtomic(join(outDir, 'jobs', name), await fs.readFile(join(dir, 'jobs', name)));
    }
    const manifest: StudyManifest = { study: study! };
    await writeFileAtomic(join(outDir, 'study.json'), JSON.stringify(manifest) + '\n');
    return { manifest, records };
  } finally {
    await unlock();
  }
}
