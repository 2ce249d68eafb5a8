/**
 * Progress for long work, on stderr so that --json output on stdout stays machine-readable:
 * a bar with ETA on a terminal, plain lines (every 10 %) otherwise, nothing with --quiet.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(count?: number): void;
  done(): void;
}

export function createProgress(label: string, total: number, quiet = false): Progress {
  if (quiet || total <= 0) return { tick() {}, done() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { tick: (n = 1) => bar.increment(n), done: () => bar.stop() };
  }
  let value = 0;
  let nextReport = 0.1;
  const started = Date.now();
  return {
    tick(n = 1) {
      value += n;
      if (value / total >= nextReport - 1e-12 && value < total) {
        const elapsed = (Date.now() - started) / 1000;
        const eta = (elapsed / value) * (total - value);
        process.stderr.write(`${label}: ${value}/${total} (${Math.round((100 * value) / total)}%, ETA ${eta.toFixed(0)} s)\n`);
        while (nextReport <= value / total) nextReport += 0.1;
      }
    },
    done() {
      process.stderr.write(`${label}: ${total}/${total} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}
