import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINK_REL, renderMarkdown } from '../src/content/markdown.js';

// What linkify makes of plain text (markdown-it 15, linkify-it 6; see apps/conduit/src/content/markdown.ts).

test('a bare domain in the text is still a link, as it was before markdown-it 15', () => {
  assert.equal(
    renderMarkdown('See www.example.com and example.org/docs.'),
    `<p>See <a href="http://www.example.com" rel="${LINK_REL}">www.example.com</a> and <a href="http://example.org/docs" rel="${LINK_REL}">example.org/docs</a>.</p>\n`,
  );
});

test('a user:password@ part never becomes part of a link, so a link cannot show one host and go to another', () => {
  const html = renderMarkdown('https://bank.example:login@evil.example/x');
  assert.doesNotMatch(html, /href="[^"]*evil\.example/);
  assert.doesNotMatch(html, /href="[^"]*@/);
});

test('a link in CJK text ends at the ideographic full stop', () => {
  assert.match(
    renderMarkdown('https://example.com/パス。次'),
    /<a href="https:\/\/example\.com\/%E3%83%91%E3%82%B9" [^>]*>https:\/\/example\.com\/パス<\/a>。次/,
  );
});
