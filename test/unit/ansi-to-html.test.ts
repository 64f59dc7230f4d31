import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ansiToHtmlBody } from '../../tools/ansi-to-html.js';

test('SGR colours become spans, text is escaped, other escapes dropped', () => {
  const html = ansiToHtmlBody('a\x1b[33mT<l>\x1b[0m b\x1b]0;title\x07');
  assert.match(html, /<span style="color:var\(--fg\)">a<\/span>/);
  assert.match(html, /<span style="color:#f0c674">T&lt;l&gt;<\/span>/);
  assert.ok(!html.includes('\x1b') && !html.includes('title'));
});

test('256-colour, truecolour and inverse', () => {
  assert.match(ansiToHtmlBody('\x1b[38;5;196mx'), /color:rgb\(255,0,0\)/);
  assert.match(ansiToHtmlBody('\x1b[38;2;1;2;3mx'), /color:rgb\(1,2,3\)/);
  assert.match(ansiToHtmlBody('\x1b[7mx'), /color:var\(--bg\);background:var\(--fg\)/);
});
