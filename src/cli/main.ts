/**
 * The `resnet-stability` command line. One file per subcommand; this file wires them together and
 * turns every failure into one line on stderr and a non-zero exit (see errors.ts).
 */
import { Command, CommanderError } from 'commander';
import { compareCommand } from './compare.js';
import { evalCommand } from './eval.js';
import { importCommand } from './import.js';
import { mergeCommand } from './merge.js';
import { predictCommand } from './predict.js';
import { propagateCommand } from './propagate.js';
import { reportCommand } from './report.js';
import { projectCommand } from './project.js';
import { scaleCommand } from './scale.js';
import { stageCommand } from './stage.js';
import { spectrumCommand } from './spectrum.js';
import { reportFailure } from './errors.js';
import { PACKAGE_VERSION } from '../version.js';

/** Commander's usage errors in the same one-line form as every other failure (see errors.ts). */
const usageOutput = { outputError: (text: string, write: (text: string) => void) => write(text.replace(/^error: /, 'resnet-stability: ')) };

function buildProgram(): Command {
  const program = new Command('resnet-stability')
    .description('stability analysis of CIFAR residual networks by linearization (Rothauge et al. 2019)')
    .version(PACKAGE_VERSION)
    .showSuggestionAfterError()
    .exitOverride();
  for (const command of [importCommand(), evalCommand(), predictCommand(), propagateCommand(), spectrumCommand(), scaleCommand(), stageCommand(), projectCommand(), mergeCommand(), reportCommand(), compareCommand()]) {
    program.addCommand(command.exitOverride().configureOutput(usageOutput));
  }
  return program.configureOutput(usageOutput);
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its one-line message (or the help/version text).
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportFailure(err);
  }
}

process.exitCode = await main(process.argv);
