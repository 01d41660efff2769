import { CapabilityVerifier } from './token.ts';

/**
 * One {@link CapabilityVerifier} for a kernel, created once its key has loaded: returns a
 * function that resolves to the same verifier on every call, so every hot path (the kernel
 * API's `capVerify`, the capsules' file airlocks) shares one bounded cache of checked chains.
 * A failed key load is not remembered: the next call tries again.
 */
export function verifierSource(
  kernelKey: () => Promise<Uint8Array>,
  options: { cacheSize?: number } = {},
): () => Promise<CapabilityVerifier> {
  let verifier: Promise<CapabilityVerifier> | null = null;
  return () => {
    if (verifier === null) {
      const created = kernelKey().then((key) => new CapabilityVerifier(key, options));
      verifier = created;
      created.catch(() => {
        if (verifier === created) verifier = null;
      });
    }
    return verifier;
  };
}
