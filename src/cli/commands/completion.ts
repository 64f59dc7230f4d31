/**
 * `reaper completion bash|zsh`: prints the completion script for the shell, generated from
 * the command table in src/cli/completion-spec.ts (completions/ in the repository holds the
 * same output, committed).
 */
import { ReaperError } from '../../model/errors.js';
import { bashCompletionScript } from '../completion-bash.js';
import { zshCompletionScript } from '../completion-zsh.js';
import { parseFlags } from '../flags.js';

const HELP = `Usage
  reaper completion bash|zsh

Prints the shell completion script for bash or zsh.
  bash:  reaper completion bash > ~/.local/share/bash-completion/completions/reaper
         (or add  source <(reaper completion bash)  to ~/.bashrc)
  zsh:   reaper completion zsh > ~/.zfunc/_reaper
         (with  fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit  in ~/.zshrc)`;

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(shell: Shell): string {
  return shell === 'bash' ? bashCompletionScript() : zshCompletionScript();
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const { input } = parseFlags(argv, {}, HELP);
  if (input.length !== 1) throw new ReaperError('USAGE', `completion expects one shell name (${SHELLS.join(' or ')})`);
  const shell = String(input[0]);
  if (!(SHELLS as readonly string[]).includes(shell)) throw new ReaperError('USAGE', `completion: unknown shell "${shell}" (expected ${SHELLS.join(' or ')})`);
  process.stdout.write(completionScript(shell as Shell));
  return 0;
}
