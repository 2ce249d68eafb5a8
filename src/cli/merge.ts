/**
 * `resnet-stability merge <shard dir>... --out <dir>`: combine the output directories of a sharded
 * study (`--shard k/N`) into exactly what the unsharded run writes (summary.json byte for byte).
 */
import { Command } from 'commander';
import { mergeShards } from '../study/jobs.js';
import type { SpectrumJobOptions, SpectrumRecord } from '../study/spectrum-study.js';
import { InputError } from '../util/errors.js';
import { writeSpectrumSummary } from './spectrum.js';

export function mergeCommand(): Command {
  return new Command('merge')
    .description('combine the output directories of a sharded run (--shard k/N) into one')
    .argument('<dirs...>', 'shard output directories')
    .requiredOption('--out <dir>', 'merged output directory')
    .action(async (dirs: string[], opts: { out: string }) => {
      const { manifest, records } = await mergeShards(dirs, opts.out);
      const study = manifest.study as unknown as { kind: string; model: string; options: SpectrumJobOptions };
      if (study.kind !== 'spectrum') throw new InputError(`cannot merge a "${study.kind}" study`);
      await writeSpectrumSummary(opts.out, study.model, study.options.method, records as SpectrumRecord[]);
      process.stderr.write(`merged ${dirs.length} shard(s), ${records.length} jobs, into ${opts.out}\n`);
    });
}
