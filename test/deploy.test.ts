/**
 * deploy/: the Kubernetes manifests for a sharded report are quoted verbatim in the README, and are
 * valid batch/v1 Jobs by the Kubernetes OpenAPI schema (devDependencies `yaml` and `kubernetes-models`;
 * skipped with the reason when those are not installed). The Indexed Job must run shard
 * JOB_COMPLETION_INDEX + 1 of `completions`, resumably, into a volume the merge Job reads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const FILES = ['deploy/k8s-report-job.yaml', 'deploy/k8s-report-merge.yaml'];

function installed(name: string): boolean {
  try {
    // package.json rather than the bare name: kubernetes-models has no main entry, only subpaths.
    createRequire(import.meta.url).resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}
const missing = ['yaml', 'kubernetes-models'].filter((m) => !installed(m));
const skipSchema = missing.length ? `devDependencies not installed: ${missing.join(', ')} (npm ci installs them)` : false;

test('the README quotes both deploy files verbatim under "A report over many machines"', () => {
  const readme = read('README.md');
  const start = readme.indexOf('### A report over many machines');
  assert.ok(start >= 0, 'README section missing');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.deepEqual(blocks, FILES.map(read));
});

test('the Indexed Job runs shard index+1 of completions, resumable, on volumes; the merge reads the same volume', () => {
  const job = read(FILES[0]);
  const completions = Number(/^\s+completions: (\d+)$/m.exec(job)?.[1]);
  assert.ok(completions > 1);
  assert.match(job, /^\s+completionMode: Indexed$/m);
  assert.match(job, /^\s+parallelism: \d+$/m);
  assert.match(job, new RegExp(`--shard \\$\\(\\(JOB_COMPLETION_INDEX \\+ 1\\)\\)/${completions} --out /results/shard-\\$JOB_COMPLETION_INDEX`));
  assert.match(job, /--resume --reproducible/);
  assert.match(read(FILES[1]), /merge \/results\/shard-\* --out \/results\/report/);
});

test('both deploy files are valid batch/v1 Jobs by the Kubernetes schema', { skip: skipSchema }, async () => {
  const { parseAllDocuments } = await import('yaml');
  const { Job } = await import('kubernetes-models/batch/v1/Job');
  for (const file of FILES) {
    const docs = parseAllDocuments(read(file));
    assert.equal(docs.length, 1, file);
    assert.deepEqual(docs[0].errors, [], file);
    const object = docs[0].toJS();
    assert.equal(object.kind, 'Job', file);
    assert.doesNotThrow(() => new Job(object).validate(), file);
    const pod = object.spec.template.spec;
    const volumes = new Set(pod.volumes.map((v: { name: string }) => v.name));
    for (const c of pod.containers) for (const m of c.volumeMounts) assert.ok(volumes.has(m.name), `${file}: mount ${m.name} has no volume`);
  }
  // An invalid Job is refused, so the check is not vacuous.
  assert.throws(() => new Job({ spec: { completions: 'eight', template: {} } } as never).validate());
});
