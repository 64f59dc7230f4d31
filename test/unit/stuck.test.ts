import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StuckWatch, stuckState } from '../../src/launch/stuck.js';

const m = (pid: number, state: string, startTime = 100) => ({ pid, startTime, state, cmd: `p${pid}`, wchan: null });

describe('stuck watch', () => {
  it('reports a process stopped, traced or in D for the threshold, once', () => {
    const w = new StuckWatch(1000);
    assert.deepEqual(w.look([m(1, 'T'), m(2, 'S'), m(3, 'D'), m(4, 't')], 0), []);
    assert.deepEqual(w.look([m(1, 'T'), m(2, 'S'), m(3, 'D'), m(4, 't')], 999), []);
    const seen = w.look([m(1, 'T'), m(2, 'S'), m(3, 'D'), m(4, 't')], 1000);
    assert.deepEqual(
      seen.map((s) => [s.member.pid, s.forMs]),
      [
        [1, 1000],
        [3, 1000],
        [4, 1000],
      ],
    );
    assert.deepEqual(w.look([m(1, 'T'), m(3, 'D'), m(4, 't')], 5000), [], 'each only once');
  });

  it('starts over when a process leaves the state, or when its pid is reused', () => {
    const w = new StuckWatch(1000);
    w.look([m(1, 'T')], 0);
    w.look([m(1, 'R')], 500); // resumed
    assert.deepEqual(w.look([m(1, 'T')], 1200), [], 'stopped again only 0 ms ago');
    assert.equal(w.look([m(1, 'T')], 2200).length, 1);
    // the same pid, another process (start time): a new sighting
    w.look([m(1, 'T', 999)], 3000);
    assert.equal(w.look([m(1, 'T', 999)], 4000).length, 1);
  });

  it('says what the state means', () => {
    assert.equal(stuckState('T', null), 'stopped (T)');
    assert.equal(stuckState('t', null), 'traced (t)');
    assert.equal(stuckState('D', null), 'in D (uninterruptible)');
    assert.equal(stuckState('D', 'nfs_wait'), 'in D (nfs_wait)');
  });
});
