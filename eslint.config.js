// Lint for reaper: typescript-eslint's recommended rules over the sources, tests, benches and
// tools (types are the compiler's job: tsconfig is strict). `_name` marks a value left unused
// on purpose (a destructured field dropped, a callback's unused argument).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'device-kit/**', 'completions/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
    },
  },
);
