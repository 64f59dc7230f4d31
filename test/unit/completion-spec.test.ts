/** The completion table and the generated scripts (pure parts). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { bashCompletionScript } from '../../src/cli/completion-bash.js';
import { COMMANDS, GLOBAL_FLAGS } from '../../src/cli/completion-spec.js';
import { zshCompletionScript } from '../../src/cli/completion-zsh.js';

const COMPLETIONS = new URL('../../../completions/', import.meta.url);

describe('completion table', () => {
  it('has unique commands and, per command, unique long flags', () => {
    const names = COMMANDS.map((c) => c.name);
    assert.equal(new Set(names).size, names.length);
    for (const c of COMMANDS) {
      const flags = c.flags.map((f) => f.name);
      assert.equal(new Set(flags).size, flags.length, c.name);
      for (const f of flags) assert.match(f, /^--[a-z][a-z-]*$/, `${c.name} ${f}`);
      assert.ok(!flags.includes('--help'), `${c.name}: --help is added by the generators`);
    }
    assert.deepEqual(GLOBAL_FLAGS.map((f) => f.name), ['--help', '--version']);
  });

  it('every value flag has something to say about its value', () => {
    for (const c of COMMANDS) {
      for (const f of c.flags) {
        if (f.value.kind === 'choice') assert.ok(f.value.values.length > 0, `${c.name} ${f.name}`);
        assert.ok(f.help.length > 0 && !f.help.includes('\n'), `${c.name} ${f.name}`);
      }
    }
  });
});

describe('generated scripts', () => {
  it('completions/reaper.bash is the current output of "reaper completion bash" (regenerate it when this fails)', () => {
    assert.equal(readFileSync(new URL('reaper.bash', COMPLETIONS), 'utf8'), bashCompletionScript());
  });

  it('completions/_reaper is the current output of "reaper completion zsh" (regenerate it when this fails)', () => {
    assert.equal(readFileSync(new URL('_reaper', COMPLETIONS), 'utf8'), zshCompletionScript());
  });

  it('bash: registers _reaper for reaper and names every command and flag', () => {
    const s = bashCompletionScript();
    assert.match(s, /\ncomplete -F _reaper reaper\n/);
    for (const c of COMMANDS) {
      assert.ok(s.includes(c.name), c.name);
      for (const f of c.flags) assert.ok(s.includes(f.name), `${c.name} ${f.name}`);
    }
  });

  it('zsh: is a #compdef file with one _arguments branch per command', () => {
    const s = zshCompletionScript();
    assert.ok(s.startsWith('#compdef reaper\n'));
    for (const c of COMMANDS) assert.match(s, new RegExp(`\\n        ${c.name}\\)\\n          _arguments`), c.name);
    assert.ok(s.includes("'--signal=[how to act (default kill)]:signal:(term kill cont)'"));
    assert.ok(s.includes('sim\\:2'), 'colons in values are escaped');
  });
});
