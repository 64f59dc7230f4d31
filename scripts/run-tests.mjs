#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test (Node 20's --test takes no globs and, given a
// folder, would also load helpers and fixtures). One file at a time: the integration tests
// spawn real process trees and a 2-core machine is easily overloaded.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// As root, every signal the tests send is audited: into a throwaway system log, not the
// machine's /var/log/reaper (tests that check the system log set their own).
const scratch = mkdtempSync(join(tmpdir(), 'reaper-tests-'));
const env = { ...process.env, REAPER_AUDIT_SYSTEM: process.env.REAPER_AUDIT_SYSTEM ?? join(scratch, 'system-audit.jsonl') };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
rmSync(scratch, { recursive: true, force: true });
process.exit(r.status ?? 1);
