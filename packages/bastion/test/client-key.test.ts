import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientKey } from '../src/security/client-key.js';

// What the per-IP limits count (the attacks on a running server are in rate-limits.test.ts).

test('an IPv4 address is its own client', () => {
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  assert.notEqual(clientKey('192.0.2.7'), clientKey('192.0.2.8'));
});

test('every address of one IPv6 /64 is one client, however it is written', () => {
  const key = clientKey('2001:db8:1:2::1');
  for (const same of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0:0:0:9', '2001:db8:1:2:a:b:c:d', '2001:db8:1:2::abcd']) {
    assert.equal(clientKey(same), key, same);
  }
  assert.equal(key, '2001:db8:1:2::/64');
});

test('neighbouring IPv6 networks are different clients', () => {
  assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
  assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db9:1:2::1'));
});

test('an IPv4-mapped IPv6 address is the IPv4 client', () => {
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:c000:0207'), '192.0.2.7');
});

test('text that is no address is counted as it is, never merged with another client', () => {
  assert.equal(clientKey('not:an:address'), 'not:an:address');
  assert.notEqual(clientKey('not:an:address'), clientKey('2001:db8:1:2::1'));
});

test('a source port a proxy wrote after the address is dropped: a new connection is not a new client', () => {
  assert.equal(clientKey('192.0.2.7:51234'), '192.0.2.7');
  assert.equal(clientKey('[2001:db8:1:2::1]:443'), '2001:db8:1:2::/64');
  assert.equal(clientKey('[2001:db8:1:2::1]'), '2001:db8:1:2::/64');
  assert.equal(clientKey('[::ffff:192.0.2.7]:8080'), '192.0.2.7');
});
