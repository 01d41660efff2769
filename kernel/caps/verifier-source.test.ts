import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CapabilityVerifier, mintCapability } from './token.ts';
import { verifierSource } from './verifier-source.ts';

test('verifierSource() gives one verifier once the key loads and retries a failed load', async () => {
  const key = randomBytes(32);
  let loads = 0;
  const source = verifierSource(async () => {
    loads += 1;
    if (loads === 1) throw new Error('key not ready');
    return key;
  });

  await assert.rejects(source(), /key not ready/);
  const [a, b] = await Promise.all([source(), source()]);
  const c = await source();

  assert.ok(a instanceof CapabilityVerifier);
  assert.ok(a === b && b === c);
  assert.equal(loads, 2);
  const handle = mintCapability(key, { capsuleId: 'fs', root: '/', rights: ['read'], expiresAt: Date.now() + 60_000 });
  assert.equal(a.verify(handle, { capsuleId: 'fs', now: Date.now(), isRevoked: () => false }).capsuleId, 'fs');
});
