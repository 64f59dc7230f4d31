/** The one-line CONFIG error a batch file text gets from parseBatchConfig (fails the test when it parses). */
import assert from 'node:assert/strict';
import { parseBatchConfig } from '../../src/launch/config.js';
import { isReaperError } from '../../src/model/errors.js';

export function configError(text: string): string {
  try {
    parseBatchConfig(text, 'b.yaml');
  } catch (e) {
    assert.ok(isReaperError(e), `expected a ReaperError, got ${String(e)}`);
    assert.equal(e.code, 'CONFIG');
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('expected a config error');
}
