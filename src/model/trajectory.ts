/**
 * The point a network passes through for one image: what the linearization needs.
 * All tensors are one image's C x H x W, row-major (PyTorch order), float32 from the tfjs forward pass.
 */
export interface UnitTrace {
  /** h: the unit's input, C_in x H_in x W_in. */
  input: Float32Array;
  /** D_mid: 1 where the hidden pre-activation a1 = bn1(conv1(h)) is > 0; C_out x H_out x W_out. */
  hiddenMask: Uint8Array;
  /** D_out: 1 where alpha*S(h) + a2 is > 0; C_out x H_out x W_out. */
  outputMask: Uint8Array;
  /** h' = relu(alpha*S(h) + a2), C_out x H_out x W_out. */
  output: Float32Array;
}

export interface Trajectory {
  /** ResNetModel.fingerprint of the model (weights + alpha/beta) that produced it. */
  modelFingerprint: string;
  /** The normalized input image, 3 x 32 x 32. */
  input: Float32Array;
  /** Stem output relu(bn(conv(x))), 16 x 32 x 32. */
  stem: Float32Array;
  /** One trace per residual unit, in network order. */
  units: UnitTrace[];
  logits: Float32Array;
}
