import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { normalizeVirtualPath } from '../vfs/path/index.ts';
import { RIGHTS, type Right } from './rights.ts';
import { TOKEN_PREFIX, decodeToken, encodeAttenuationBlock, encodeToken } from './token-codec.ts';
import {
  CapabilityVerifier,
  allowsCapability,
  attenuateCapability,
  inspectCapability,
  mintCapability,
  verifyCapability,
  type EffectiveCapability,
} from './token.ts';

const key = randomBytes(32);
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const never = (): boolean => false;
const ctx = { key, capsuleId: 'fs', now: NOW, isRevoked: never };

const mint = (over: Partial<{ capsuleId: string; root: string; rights: Right[]; expiresAt: number }> = {}): string =>
  mintCapability(key, { capsuleId: 'fs', root: '/src', rights: ['read', 'list', 'write'], expiresAt: NOW + HOUR, ...over });

const invalidFor = (reason: string) => (e: unknown) => isKernelError(e, ErrorCode.HandleInvalid) && e.details?.['reason'] === reason;
const anyInvalid = (e: unknown) => isKernelError(e, ErrorCode.HandleInvalid);

/** The raw bytes behind a handle, and back. */
const raw = (token: string): Buffer => Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url');
const fromRaw = (bytes: Buffer): string => TOKEN_PREFIX + bytes.toString('base64url');

describe('mintCapability() and verifyCapability()', () => {
  test('verifyCapability() returns what mintCapability() bound when the handle is intact', () => {
    const token = mint();

    const eff = verifyCapability(token, ctx);

    assert.ok(token.startsWith('astr1_'));
    assert.deepEqual(
      { ...eff, chainIds: [...eff.chainIds], rights: [...eff.rights] },
      { capsuleId: 'fs', root: '/src', rights: ['read', 'write', 'list'], rightsMask: 0b111, expiresAt: NOW + HOUR, id: eff.id, chainIds: [eff.id] },
    );
    assert.match(eff.id, /^[0-9a-f]{32}$/);
  });

  test('mintCapability() refuses a bad request with INVALID_ARGUMENT', () => {
    for (const bad of [{ rights: [] as Right[] }, { rights: ['root' as Right] }, { root: '../x' }, { capsuleId: 'Bad Id' }, { expiresAt: -1 }, { expiresAt: 1.5 }]) {
      assert.throws(() => mint(bad), (e) => isKernelError(e, ErrorCode.InvalidArgument), JSON.stringify(bad));
    }
    assert.throws(() => mintCapability(randomBytes(16), { capsuleId: 'fs', root: '/', rights: ['read'], expiresAt: NOW }), (e) =>
      isKernelError(e, ErrorCode.InvalidArgument));
  });

  test('verifyCapability() refuses a handle for another capsule, after expiry and under another key', () => {
    const token = mint();

    assert.throws(() => verifyCapability(token, { ...ctx, capsuleId: 'shell' }), invalidFor('capsule'));
    assert.throws(() => verifyCapability(token, { ...ctx, now: NOW + HOUR }), invalidFor('expired'));
    assert.doesNotThrow(() => verifyCapability(token, { ...ctx, now: NOW + HOUR - 1 }));
    assert.throws(() => verifyCapability(token, { ...ctx, key: randomBytes(32) }), invalidFor('signature'));
  });

  test('verifyCapability() refuses every single-byte flip of the encoded handle', () => {
    const token = attenuateCapability(mint(), { root: '/src/lib', rights: ['read'] });
    const bytes = raw(token);
    let refused = 0;

    for (let i = 0; i < bytes.length; i += 1) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const forged = Buffer.from(bytes);
        forged[i] = (forged[i] as number) ^ mask;
        assert.throws(() => verifyCapability(fromRaw(forged), ctx), anyInvalid, `byte ${i} ^ ${mask}`);
        refused += 1;
      }
    }

    assert.equal(refused, bytes.length * 3);
  });

  test('verifyCapability() refuses every character substitution, truncation and junk suffix of the string', () => {
    const token = mint();
    const alphabet = [...'Aa0_-'];

    for (let i = 0; i < token.length; i += 1) {
      const c = alphabet.find((x) => x !== token[i]) ?? 'B';
      assert.throws(() => verifyCapability(token.slice(0, i) + c + token.slice(i + 1), ctx), anyInvalid, `char ${i}`);
      assert.throws(() => verifyCapability(token.slice(0, i), ctx), anyInvalid, `prefix ${i}`);
    }
    for (const junk of ['A', 'AA', '=', ' ', '\n']) assert.throws(() => verifyCapability(token + junk, ctx), anyInvalid, junk);
    assert.throws(() => verifyCapability(42 as unknown as string, ctx), invalidFor('malformed'));
  });

  test('verifyCapability() refuses a handle whose capsule id was swapped in place', () => {
    const token = mint({ capsuleId: 'fs' });
    const bytes = raw(token);
    const at = 1 + 1 + 16; // version, block kind, id: then the capsule id's length and bytes
    assert.equal(bytes.toString('latin1', at, at + 3), '\u0002fs');

    bytes.write('\u0002sh', at, 'latin1');

    assert.throws(() => verifyCapability(fromRaw(bytes), { ...ctx, capsuleId: 'sh' }), invalidFor('signature'));
  });

  test('verifyCapability() refuses spliced caveats and a dropped last caveat', () => {
    const parent = mint();
    const a = attenuateCapability(parent, { root: '/src/a', rights: ['read'] });
    const b = attenuateCapability(parent, { root: '/src/b', rights: ['read', 'write'] });
    const other = attenuateCapability(mint(), { rights: ['write'] });
    const da = decodeToken(a);
    const db = decodeToken(b);
    const dOther = decodeToken(other);
    const root = da.blocks[0]!.bytes;

    const spliced = [
      encodeToken([root, db.blocks[1]!.bytes], da.tag), // b's caveat, a's tag
      encodeToken([dOther.blocks[0]!.bytes, db.blocks[1]!.bytes], db.tag), // b's caveat on another root
      encodeToken([root, da.blocks[1]!.bytes, db.blocks[1]!.bytes], db.tag),
      encodeToken([root], da.tag), // last caveat dropped, child's tag kept
      encodeToken([root, da.blocks[1]!.bytes], randomBytes(32)), // a guessed tag
    ];

    for (const token of spliced) assert.throws(() => verifyCapability(token, ctx), invalidFor('signature'));
  });
});

describe('session binding', () => {
  const SESSION = 'a1b2c3d4e5f6';

  test('mintCapability() binds a session that verifies and that every attenuation inherits', () => {
    const token = mintCapability(key, { capsuleId: 'fs', root: '/src', rights: ['read'], expiresAt: NOW + HOUR, session: SESSION });

    const child = attenuateCapability(attenuateCapability(token, { root: '/src/a' }), { session: SESSION });

    assert.equal(verifyCapability(token, ctx).session, SESSION);
    assert.equal(verifyCapability(child, ctx).session, SESSION);
    assert.equal('session' in verifyCapability(mint(), ctx), false);
  });

  test('attenuateCapability() refuses to set or change a session with CAPABILITY_DENIED', () => {
    const bound = mintCapability(key, { capsuleId: 'fs', root: '/', rights: ['read'], expiresAt: NOW + HOUR, session: SESSION });

    assert.throws(() => attenuateCapability(bound, { session: 'ffffffffffff' }), (e) => isKernelError(e, ErrorCode.CapabilityDenied));
    assert.throws(() => attenuateCapability(mint(), { session: SESSION }), (e) => isKernelError(e, ErrorCode.CapabilityDenied));
  });

  test('verifyCapability() refuses a session swapped in place and a bad session id', () => {
    const token = mintCapability(key, { capsuleId: 'fs', root: '/', rights: ['read'], expiresAt: NOW + HOUR, session: SESSION });
    const bytes = raw(token);
    const at = bytes.indexOf(SESSION, 0, 'latin1');
    assert.ok(at > 0);

    const swapped = Buffer.from(bytes);
    swapped.write('ffffffffffff', at, 'latin1');
    const bad = Buffer.from(bytes);
    bad.write('A', at, 'latin1');

    assert.throws(() => verifyCapability(fromRaw(swapped), ctx), invalidFor('signature'));
    assert.throws(() => verifyCapability(fromRaw(bad), ctx), invalidFor('malformed'));
    assert.throws(() => mintCapability(key, { capsuleId: 'fs', root: '/', rights: ['read'], expiresAt: NOW, session: '../x' }), (e) =>
      isKernelError(e, ErrorCode.InvalidArgument));
  });

  test('verifyCapability() refuses a version 1 handle, even one correctly MACed, as malformed', () => {
    const bytes = raw(mint());
    assert.equal(bytes[0], 2);
    const v1 = Buffer.from(bytes);
    v1[0] = 1;
    const body = v1.subarray(0, v1.length - 32);
    const tag = createHmac('sha256', key).update(body.subarray(0, 1)).update(body.subarray(1)).digest();

    assert.throws(() => verifyCapability(fromRaw(Buffer.concat([body, tag])), ctx), invalidFor('malformed'));
  });
});

describe('attenuateCapability()', () => {
  test('attenuateCapability() narrows root, rights and expiry without the kernel key', () => {
    const parent = mint();

    const child = attenuateCapability(parent, { root: '/src/lib', rights: ['read'], expiresAt: NOW + 60_000 });
    const eff = verifyCapability(child, ctx);
    const parentEff = verifyCapability(parent, ctx);

    assert.deepEqual([eff.root, [...eff.rights], eff.expiresAt], ['/src/lib', ['read'], NOW + 60_000]);
    assert.deepEqual(eff.chainIds, [parentEff.id, eff.id]);
    assert.notEqual(eff.id, parentEff.id);
  });

  test('attenuateCapability() with no caveat makes a separately revocable child with the same grant', () => {
    const parent = mint();

    const child = verifyCapability(attenuateCapability(parent, {}), ctx);
    const parentEff = verifyCapability(parent, ctx);

    assert.deepEqual([child.root, child.rights, child.expiresAt], [parentEff.root, parentEff.rights, parentEff.expiresAt]);
    assert.notEqual(child.id, parentEff.id);
  });

  test('attenuateCapability() refuses to widen with CAPABILITY_DENIED', () => {
    const token = attenuateCapability(mint(), { root: '/src/lib', rights: ['read', 'list'] });
    const widen = [{ root: '/src' }, { root: '/' }, { root: '/src/libx' }, { root: '/other' }, { rights: ['write' as Right] },
      { rights: ['read' as Right, 'delete' as Right] }, { expiresAt: NOW + HOUR + 1 }];

    for (const request of widen) {
      assert.throws(() => attenuateCapability(token, request), (e) => isKernelError(e, ErrorCode.CapabilityDenied), JSON.stringify(request));
    }
  });

  test('attenuateCapability() refuses a malformed handle with HANDLE_INVALID and a bad request with INVALID_ARGUMENT', () => {
    assert.throws(() => attenuateCapability('astr1_AAAA', {}), anyInvalid);
    assert.throws(() => attenuateCapability(mint(), { root: '/src/../etc' }), (e) => isKernelError(e, ErrorCode.InvalidArgument));
    assert.throws(() => attenuateCapability(mint(), { rights: [] }), (e) => isKernelError(e, ErrorCode.InvalidArgument));
  });

  test('verifyCapability() refuses a hand-made caveat that widens the root and never widens rights or expiry', () => {
    const token = attenuateCapability(mint(), { root: '/src/lib', rights: ['read'], expiresAt: NOW + 1000 });
    const decoded = decodeToken(token);
    const append = (caveats: Parameters<typeof encodeAttenuationBlock>[1]): string => {
      const block = encodeAttenuationBlock(randomBytes(16), caveats);
      return encodeToken([...decoded.blocks.map((b) => b.bytes), block], createHmac('sha256', decoded.tag).update(block).digest());
    };

    const widerRoot = append({ root: normalizeVirtualPath('/') });
    const moreRights = verifyCapability(append({ rights: 0b11111 }), ctx);
    const later = verifyCapability(append({ expiresAt: NOW + HOUR }), ctx);

    assert.throws(() => verifyCapability(widerRoot, ctx), invalidFor('caveat'));
    assert.deepEqual([...moreRights.rights], ['read']);
    assert.equal(later.expiresAt, NOW + 1000);
  });

  test('attenuation chains only ever narrow what verifies (property)', () => {
    const segment = fc.constantFrom('a', 'b', 'c');
    const request = fc.record(
      {
        root: fc.array(segment, { maxLength: 4 }).map((p) => `/${p.join('/')}`),
        rights: fc.subarray([...RIGHTS], { minLength: 1 }),
        expiresAt: fc.integer({ min: NOW - HOUR, max: NOW + 2 * HOUR }),
      },
      { requiredKeys: [] },
    );

    fc.assert(
      fc.property(fc.array(request, { maxLength: 8 }), (requests) => {
        let token = mintCapability(key, { capsuleId: 'fs', root: '/a', rights: [...RIGHTS], expiresAt: NOW + HOUR });
        let parent: EffectiveCapability = inspectCapability(token);
        for (const req of requests) {
          let next: string;
          try {
            next = attenuateCapability(token, req);
          } catch (error) {
            assert.ok(isKernelError(error, ErrorCode.CapabilityDenied), String(error));
            continue;
          }
          const eff = inspectCapability(next);
          const verified = (() => {
            try {
              return verifyCapability(next, ctx);
            } catch (error) {
              assert.ok(isKernelError(error, ErrorCode.HandleInvalid) && error.details?.['reason'] === 'expired');
              return eff;
            }
          })();
          assert.ok(verified.root === parent.root || verified.root.startsWith(`${parent.root === '/' ? '' : parent.root}/`));
          assert.equal(verified.rightsMask & ~parent.rightsMask, 0);
          assert.ok(verified.expiresAt <= parent.expiresAt);
          assert.deepEqual(verified.chainIds.slice(0, -1), [...parent.chainIds]);
          token = next;
          parent = verified;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('revocation', () => {
  test('verifyCapability() refuses children of a revoked parent but not the parent of a revoked child', () => {
    const parent = mint();
    const child = attenuateCapability(parent, { root: '/src/a' });
    const grandchild = attenuateCapability(child, { rights: ['read'] });
    const sibling = attenuateCapability(parent, { root: '/src/b' });
    const ids = { parent: inspectCapability(parent).id, child: inspectCapability(child).id };

    const revokedChild = new Set([ids.child]);
    const revokedParent = new Set([ids.parent]);
    const isChildRevoked = (id: string): boolean => revokedChild.has(id);
    const isParentRevoked = (id: string): boolean => revokedParent.has(id);

    assert.doesNotThrow(() => verifyCapability(parent, { ...ctx, isRevoked: isChildRevoked }));
    assert.doesNotThrow(() => verifyCapability(sibling, { ...ctx, isRevoked: isChildRevoked }));
    assert.throws(() => verifyCapability(child, { ...ctx, isRevoked: isChildRevoked }), invalidFor('revoked'));
    assert.throws(() => verifyCapability(grandchild, { ...ctx, isRevoked: isChildRevoked }), invalidFor('revoked'));
    for (const t of [parent, child, grandchild, sibling]) {
      assert.throws(() => verifyCapability(t, { ...ctx, isRevoked: isParentRevoked }), invalidFor('revoked'));
    }
  });
});

describe('CapabilityVerifier', () => {
  test('CapabilityVerifier.verify() still checks expiry, capsule and revocation on a cache hit', () => {
    const verifier = new CapabilityVerifier(key, { cacheSize: 2 });
    const token = mint();
    const { capsuleId, now, isRevoked } = ctx;

    const first = verifier.verify(token, { capsuleId, now, isRevoked });
    const second = verifier.verify(token, { capsuleId, now, isRevoked });

    assert.equal(second, first);
    assert.throws(() => verifier.verify(token, { capsuleId, now: NOW + HOUR, isRevoked }), invalidFor('expired'));
    assert.throws(() => verifier.verify(token, { capsuleId: 'other', now, isRevoked }), invalidFor('capsule'));
    assert.throws(() => verifier.verify(token, { capsuleId, now, isRevoked: () => true }), invalidFor('revoked'));
  });

  test('CapabilityVerifier.verify() refuses forgeries every time and evicts beyond its size', () => {
    const verifier = new CapabilityVerifier(key, { cacheSize: 2 });
    const forged = mintCapability(randomBytes(32), { capsuleId: 'fs', root: '/', rights: ['read'], expiresAt: NOW + HOUR });
    const tokens = [mint(), mint(), mint()];
    const { capsuleId, now, isRevoked } = ctx;

    for (let i = 0; i < 2; i += 1) assert.throws(() => verifier.verify(forged, { capsuleId, now, isRevoked }), invalidFor('signature'));
    for (const t of [...tokens, ...tokens]) assert.equal(verifier.verify(t, { capsuleId, now, isRevoked }).capsuleId, 'fs');
  });
});

describe('allowsCapability()', () => {
  test('allowsCapability() grants a held right on the root and below only', () => {
    const eff = verifyCapability(mint({ root: '/src', rights: ['read', 'list'] }), ctx);

    assert.equal(allowsCapability(eff, 'read', '/src'), true);
    assert.equal(allowsCapability(eff, 'read', 'src/a/b.ts'), true);
    assert.equal(allowsCapability(eff, 'list', '/src/a'), true);
    assert.equal(allowsCapability(eff, 'write', '/src/a'), false);
    assert.equal(allowsCapability(eff, 'read', '/srcx'), false);
    assert.equal(allowsCapability(eff, 'read', '/'), false);
    assert.equal(allowsCapability(eff, 'read', '/src/../etc'), false);
    assert.equal(allowsCapability(eff, 'read', '/src/\u0000'), false);
  });
});
