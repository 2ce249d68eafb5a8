/**
 * The `--help` texts (what the built CLI prints) and the README's command synopsis agree: the same
 * commands, every command the same options, the same choices, and the same defaults.
 *
 * The README's synopsis (the sh block under "## Command line") writes an option as commander's help
 * does: `--opt` alone is a flag, `--opt <x>` takes a value with no fixed default, `[...]` marks an
 * optional one, `[--opt 20]` shows its default 20, `[--opt a|b|c]` its choices with the default first,
 * `--opt a|b` (not in brackets: required) or `[--opt <a|b>]` choices with no default.
 * On the help side a default is the JSON value commander prints at the end of an option's line
 * (`(default: 20)`, `(choices: "a", "b", default: "a")`); a default described in words
 * (`(default: one per core)`) is no fixed value, and the README shows a placeholder for it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cliPath } from './support/cli.js';
import { repoRoot } from './support/shared.js';

interface HelpOption {
  /** A JSON default commander prints, as text ('20', '0', 'full'); undefined if none or only in words. */
  default?: string;
  /** Words after "default:" that are no JSON value, e.g. "one per core". */
  prose?: string;
  choices?: string[];
}

function helpText(args: string[]): string {
  const run = spawnSync(process.execPath, [cliPath, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '80' } });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

/** The entries of one section ("Options:", "Commands:") of a help text, wrapped lines joined. */
function helpSection(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(title);
  if (start < 0) return [];
  const entries: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(' ')) break;
    if (/^ {2}\S/.test(line)) entries.push(line.trim());
    else entries[entries.length - 1] += ' ' + line.trim();
  }
  return entries;
}

/** Options of one command's --help: long name -> choices and default. */
function helpOptions(command: string): Map<string, HelpOption> {
  const options = new Map<string, HelpOption>();
  for (const entry of helpSection(helpText([command]), 'Options:')) {
    const long = entry.match(/(?:^|, )(--[a-z][a-z0-9-]*)/)?.[1];
    assert.ok(long, `no long option in "${entry}"`);
    if (long === '--help') continue;
    const option: HelpOption = {};
    const tail = entry.match(/\(([^()]*)\)$/)?.[1] ?? '';
    const choices = tail.match(/^choices: ((?:"[^"]*"(?:, )?)+)/);
    if (choices) option.choices = [...choices[1].matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    const value = tail.match(/(?:^|, )default: (.*)$/)?.[1];
    if (value !== undefined) {
      try {
        const parsed: unknown = JSON.parse(value);
        option.default = String(parsed);
      } catch {
        option.prose = value;
      }
    }
    options.set(long, option);
  }
  return options;
}

interface ReadmeOption {
  optional: boolean;
  /** undefined: a flag. */
  value?: { kind: 'placeholder' | 'literal' | 'choices'; text: string; choices?: string[] };
}

/** Words of a synopsis: `<...>` and `[...]` (nested) each one token. */
function tokens(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    let j = i;
    if (text[i] === '[') {
      for (let depth = 0; j < text.length; j++) {
        if (text[j] === '[') depth++;
        if (text[j] === ']' && --depth === 0) break;
      }
      j++;
    } else {
      while (j < text.length && !/\s/.test(text[j])) {
        if (text[j] === '<') j = text.indexOf('>', j);
        j++;
      }
    }
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

function valueOf(token: string | undefined, optional: boolean): ReadmeOption['value'] {
  if (token === undefined) return undefined;
  if (token.startsWith('[')) return { kind: 'placeholder', text: token };
  const angled = token.startsWith('<');
  const inner = angled ? token.slice(1, -1) : token;
  const choices = inner.includes('|') && !inner.includes(' ') ? inner.split('|') : undefined;
  if (angled || (choices && !optional)) return { kind: 'placeholder', text: token, choices };
  return choices ? { kind: 'choices', text: token, choices } : { kind: 'literal', text: token };
}

/** The README synopsis: command -> option -> how each line writes it. */
function readmeSynopsis(): Map<string, Map<string, ReadmeOption[]>> {
  const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
  const block = readme.match(/\n## Command line\n+```sh\n([\s\S]*?)\n```/)?.[1];
  assert.ok(block, 'README has a ```sh block under "## Command line"');
  const lines = block.split('\n').reduce<string[]>((all, line) => {
    if (/^\s/.test(line)) all[all.length - 1] += ' ' + line.trim();
    else all.push(line);
    return all;
  }, []);
  const commands = new Map<string, Map<string, ReadmeOption[]>>();
  for (const line of lines) {
    const [, command, rest] = line.match(/^resnet-stability\s+(\S+)\s+(.*)$/) ?? [];
    assert.ok(command, `a synopsis line that names no command: "${line}"`);
    const options = commands.get(command) ?? new Map<string, ReadmeOption[]>();
    commands.set(command, options);
    const add = (name: string, option: ReadmeOption) => options.set(name, [...(options.get(name) ?? []), option]);
    const top = tokens(rest);
    for (let i = 0; i < top.length; i++) {
      const token = top[i];
      if (token.startsWith('[')) {
        const [name, value, ...more] = tokens(token.slice(1, -1));
        if (!name.startsWith('--')) continue; // an optional positional argument, e.g. [<m2> ...]
        assert.deepEqual(more, [], `README ${command}: one option per [...] group: "${token}"`);
        add(name, { optional: true, value: valueOf(value, true) });
      } else if (token.startsWith('--')) {
        const next = top[i + 1];
        const value = next !== undefined && !next.startsWith('--') && !next.startsWith('[') ? next : undefined;
        if (value !== undefined) i++;
        add(token, { optional: false, value: valueOf(value, false) });
      }
    }
  }
  return commands;
}

const readme = readmeSynopsis();
const commands = helpSection(helpText([]), 'Commands:')
  .map((entry) => entry.split(' ')[0])
  .filter((name) => name !== 'help');

test('the README synopsis lists exactly the commands of --help', () => {
  assert.deepEqual([...readme.keys()].sort(), [...commands].sort());
});

for (const command of commands) {
  test(`${command}: README and --help give the same options, choices and defaults`, () => {
    const help = helpOptions(command);
    const written = readme.get(command) ?? new Map<string, ReadmeOption[]>();
    const problems: string[] = [];
    for (const name of help.keys()) if (!written.has(name)) problems.push(`${name} is in --help, not in the README`);
    for (const name of written.keys()) if (!help.has(name)) problems.push(`${name} is in the README, not in --help`);
    for (const [name, forms] of written) {
      const option = help.get(name);
      if (!option) continue;
      for (const { optional, value } of forms) {
        const shown = value?.kind === 'literal' ? value.text : value?.kind === 'choices' ? value.choices![0] : undefined;
        if (option.default !== undefined && shown !== option.default) {
          problems.push(`${name}: --help's default is ${option.default}, the README ${shown === undefined ? `shows none (${value?.text ?? 'a flag'})` : `shows ${shown}`}`);
        }
        if (option.default === undefined && shown !== undefined) {
          problems.push(`${name}: the README shows a default ${shown}, --help ${option.prose ? `says "${option.prose}"` : 'none'}`);
        }
        if (option.choices && (!value?.choices || [...value.choices].sort().join('|') !== [...option.choices].sort().join('|'))) {
          problems.push(`${name}: --help's choices are ${option.choices.join('|')}, the README's ${value?.choices?.join('|') ?? 'none'}`);
        }
        if (!optional && option.default !== undefined) problems.push(`${name}: has a default, but the README writes it as required`);
      }
    }
    assert.deepEqual(problems, []);
  });
}

test('every help text says a default the same way: "(default: ...)"', () => {
  const loose = commands.flatMap((command) =>
    helpSection(helpText([command]), 'Options:').filter((entry) => /\bdefault [^:]|\(default\)/.test(entry)).map((entry) => `${command}: ${entry}`),
  );
  assert.deepEqual(loose, []);
});

test('the parser reads a synopsis as documented (one line of each kind)', () => {
  assert.deepEqual(tokens('--model <m> [--data <cifar | a.png>] [--measure-accuracy [data]] [<m2> ...]'), [
    '--model', '<m>', '[--data <cifar | a.png>]', '[--measure-accuracy [data]]', '[<m2> ...]',
  ]);
  assert.deepEqual(valueOf('full|topk', true), { kind: 'choices', text: 'full|topk', choices: ['full', 'topk'] });
  assert.deepEqual(valueOf('fgsm|pgd', false), { kind: 'placeholder', text: 'fgsm|pgd', choices: ['fgsm', 'pgd'] });
  assert.deepEqual(valueOf('<f64|f32>', true), { kind: 'placeholder', text: '<f64|f32>', choices: ['f64', 'f32'] });
  assert.deepEqual(valueOf('20', true), { kind: 'literal', text: '20' });
  assert.equal(valueOf(undefined, true), undefined);
});
