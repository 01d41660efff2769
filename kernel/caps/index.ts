export { KERNEL_KEY_BYTES, KERNEL_KEY_FILE, loadOrCreateKernelKey } from './kernel-key.ts';
export {
  ALL_RIGHTS_MASK,
  RIGHTS,
  RightSchema,
  RightsSchema,
  maskToRights,
  rightBit,
  rightsToMask,
  type Right,
} from './rights.ts';
export { MAX_ATTENUATIONS, MAX_TOKEN_LENGTH, TOKEN_PREFIX } from './token-codec.ts';
export {
  AttenuationSchema,
  CapabilityVerifier,
  MintCapabilitySchema,
  allowsCapability,
  attenuateCapability,
  inspectCapability,
  mintCapability,
  verifyCapability,
  type AttenuationInput,
  type EffectiveCapability,
  type MintCapabilityInput,
  type VerifyContext,
} from './token.ts';
export { verifierSource } from './verifier-source.ts';
