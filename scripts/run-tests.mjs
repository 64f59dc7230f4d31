#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test (Node 20's --test takes no globs and, given a
// folder, would also load helpers and fixtures). One file at a time: the integration tests
// spawn real process trees and a 2-core machine is easily overloaded.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2] ?? 'dist/test';
const filter = process.argv.slice(3);
const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.js') && (filter.length === 0 || filter.some((f) => p.includes(f)))) files.push(p);
  }
};
walk(root);
files.sort();
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
