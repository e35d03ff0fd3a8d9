import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { decodeSetProtectedState, encodeSetProtectedStateReply, PROTECTED_STATE_ACTION } from './protobuf';
import type { ProtectionState } from './types';

/**
 * Device Protection as Device OS 6.x keeps it (services/src/security_mode.cpp,
 * system/src/control/config.cpp):
 *
 * - The device is protected when its bootloader carries the SECURITY_MODE suffix extension with
 *   mode PROTECTED (security_mode_init reads it at boot).
 * - Service Mode is an override to "none" kept in the system flags: it lasts 20 resets (counted by
 *   the bootloader on each boot) or 24 h of running time, whichever ends first, and only applies
 *   to a protected device.
 * - It is entered with the signed exchange of SetProtectedStateRequest (77): PREPARE carries the
 *   cloud's 32-byte nonce; the device answers its own nonce, an ECDSA P-256 signature (DER, over
 *   SHA-256) of `"device" ‖ device ID (12 bytes) ‖ len ‖ device nonce ‖ len ‖ server nonce`
 *   (len = u32 LE 32), and the SHA-256 of its public key (SubjectPublicKeyInfo DER). CONFIRM
 *   carries the cloud's signature of `"server" ‖ device ID ‖ len ‖ server nonce ‖ len ‖ device
 *   nonce ‖ len ‖ device key fingerprint` and the fingerprint of the cloud key, checked against the
 *   server public key in the DCT. RESET clears the override without the cloud.
 *
 * The simulated device derives its key pair from its device ID and trusts the simulator's own
 * "cloud" key (both P-256, as Device OS's mbedtls keys are), so a test or a mock cloud can play
 * the cloud side with `signServerConfirm`.
 */

export const SERVICE_MODE_RESETS = 20;
export const SERVICE_MODE_MS = 24 * 60 * 60 * 1000;
/** CONFIRM must come within 60 s of PREPARE (config.cpp). */
export const PREPARE_VALID_MS = 60_000;
export const NONCE_SIZE = 32;

/** Result codes of request 77 (services/inc/system_error.h). */
export const PROTECTION_ERROR = {
  TIMEOUT: -160,
  INVALID_STATE: -210,
  INVALID_ARGUMENT: -270,
  BAD_DATA: -280,
  PROTECTED: -1801,
  KEY_MISMATCH: -1802,
  INVALID_SIGNATURE: -1803,
} as const;

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** A P-256 key pair derived from `seed` (stable across runs, so both sides can know it). */
export const deriveP256KeyPair = (seed: string): KeyPair => {
  const digest = createHash('sha256').update(`linestation-sim-p256:${seed}`).digest();
  const d = (BigInt(`0x${digest.toString('hex')}`) % (P256_ORDER - 1n)) + 1n;
  const dBytes = Buffer.from(d.toString(16).padStart(64, '0'), 'hex');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(dBytes);
  const pub = ecdh.getPublicKey(); // 04 ‖ x ‖ y
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: dBytes.toString('base64url'),
    x: pub.subarray(1, 33).toString('base64url'),
    y: pub.subarray(33, 65).toString('base64url'),
  };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
};

/** The simulated device's own key pair (Device OS keeps it in the DCT). */
export const simDeviceKeys = (deviceId: string): KeyPair =>
  deriveP256KeyPair(`device:${deviceId.toLowerCase()}`);

/** The simulator's stand-in for the Particle Cloud key every simulated device trusts by default. */
export const simCloudKeys = (): KeyPair => deriveP256KeyPair('particle-cloud');

/** SHA-256 of the public key in SubjectPublicKeyInfo DER (mbedtls_pk_write_pubkey_der). */
export const publicKeyFingerprint = (key: KeyObject): Uint8Array =>
  createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest();

/** updateSha256Delimited: a u32 LE length, then the bytes. */
const delimited = (b: Uint8Array): Buffer => {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length, 0);
  return Buffer.concat([len, b]);
};

const idBytes = (deviceId: string): Buffer => Buffer.from(deviceId, 'hex');

/** What the device signs in its PREPARE answer. */
export const devicePrepareMessage = (
  deviceId: string,
  deviceNonce: Uint8Array,
  serverNonce: Uint8Array,
): Buffer =>
  Buffer.concat([Buffer.from('device'), idBytes(deviceId), delimited(deviceNonce), delimited(serverNonce)]);

/** What the cloud signs for CONFIRM. */
export const serverConfirmMessage = (
  deviceId: string,
  serverNonce: Uint8Array,
  deviceNonce: Uint8Array,
  devicePublicKeyFingerprint: Uint8Array,
): Buffer =>
  Buffer.concat([
    Buffer.from('server'),
    idBytes(deviceId),
    delimited(serverNonce),
    delimited(deviceNonce),
    delimited(devicePublicKeyFingerprint),
  ]);

/** The cloud side of CONFIRM: an ECDSA P-256 / SHA-256 signature, DER-encoded as mbedtls expects. */
export const signServerConfirm = (
  a: {
    deviceId: string;
    serverNonce: Uint8Array;
    deviceNonce: Uint8Array;
    devicePublicKeyFingerprint: Uint8Array;
  },
  cloudPrivateKey: KeyObject = simCloudKeys().privateKey,
): Uint8Array =>
  sign(
    'sha256',
    serverConfirmMessage(a.deviceId, a.serverNonce, a.deviceNonce, a.devicePublicKeyFingerprint),
    cloudPrivateKey,
  );

/** The cloud checking the device's PREPARE signature. */
export const verifyDevicePrepare = (
  a: { deviceId: string; deviceNonce: Uint8Array; serverNonce: Uint8Array; deviceSignature: Uint8Array },
  devicePublicKey: KeyObject,
): boolean =>
  verify(
    'sha256',
    devicePrepareMessage(a.deviceId, a.deviceNonce, a.serverNonce),
    devicePublicKey,
    a.deviceSignature,
  );

/** The Service Mode override, as the system flags hold it (it survives resets and power cycles). */
interface Override {
  resetsLeft: number;
  /** Model time (device clock) when it ends. */
  endsAt: number;
}

export interface ProtectionHost {
  readonly deviceId: string;
  /** The bootloader carries the PROTECTED security extension (the device's normal mode). */
  readonly bootloaderProtected: boolean;
  /** The device's own clock in model milliseconds (scaled wall time plus any test advance). */
  modelNow(): number;
  readonly deviceKeys: KeyPair;
  readonly serverPublicKey: KeyObject;
}

export interface ProtectionOutcome {
  readonly result: number;
  readonly reply?: Uint8Array;
}

export class SecurityState {
  private override: Override | undefined;
  private prepare: { serverNonce: Uint8Array; deviceNonce: Uint8Array; at: number } | undefined;

  constructor(private readonly host: ProtectionHost) {}

  /** security_mode_is_overridden(): Service Mode is on (and has not run out). */
  get overridden(): boolean {
    const o = this.override;
    if (!o) return false;
    if (!this.host.bootloaderProtected || this.host.modelNow() >= o.endsAt) {
      this.override = undefined;
      return false;
    }
    return true;
  }

  /** security_mode_get() == PROTECTED: protected and not overridden. */
  get protectedNow(): boolean {
    return this.host.bootloaderProtected && !this.overridden;
  }

  get state(): ProtectionState {
    if (this.overridden) return 'service';
    return this.host.bootloaderProtected ? 'protected' : 'open';
  }

  /** security_mode_override_to_none(): only a protected device enters Service Mode. */
  enterServiceMode(): void {
    if (!this.host.bootloaderProtected) return;
    this.override = { resetsLeft: SERVICE_MODE_RESETS, endsAt: this.host.modelNow() + SERVICE_MODE_MS };
  }

  /** security_mode_clear_override() (request 77 RESET, DfuSe 0xFB). */
  clearOverride(): void {
    this.override = undefined;
    this.prepare = undefined;
  }

  /** The bootloader's security_mode_notify_system_reset(): each boot uses up one reset. */
  onBoot(): void {
    this.prepare = undefined;
    if (!this.overridden || !this.override) return;
    this.override.resetsLeft--;
    if (this.override.resetsLeft <= 0) this.override = undefined;
  }

  /** SetProtectedStateRequest (77). */
  handleSetProtectedState(payload: Uint8Array): ProtectionOutcome {
    const req = decodeSetProtectedState(payload);
    if (!req) return { result: PROTECTION_ERROR.BAD_DATA };
    const h = this.host;
    switch (req.action) {
      case PROTECTED_STATE_ACTION.RESET:
        this.clearOverride();
        return { result: 0 };
      case PROTECTED_STATE_ACTION.PREPARE: {
        if (req.serverNonce.length !== NONCE_SIZE) return { result: PROTECTION_ERROR.INVALID_ARGUMENT };
        this.prepare = undefined;
        // Not protected: an empty reply (particle-usb reads it as { protected: false }).
        if (!h.bootloaderProtected && !this.overridden) return { result: 0, reply: new Uint8Array(0) };
        const deviceNonce = randomBytes(NONCE_SIZE);
        const fingerprint = publicKeyFingerprint(h.deviceKeys.publicKey);
        const deviceSignature = sign(
          'sha256',
          devicePrepareMessage(h.deviceId, deviceNonce, req.serverNonce),
          h.deviceKeys.privateKey,
        );
        this.prepare = { serverNonce: req.serverNonce, deviceNonce, at: h.modelNow() };
        return {
          result: 0,
          reply: encodeSetProtectedStateReply({
            deviceNonce,
            deviceSignature,
            devicePublicKeyFingerprint: fingerprint,
          }),
        };
      }
      case PROTECTED_STATE_ACTION.CONFIRM: {
        const p = this.prepare;
        if (!p) return { result: PROTECTION_ERROR.INVALID_STATE };
        if (req.serverSignature.length === 0 || req.serverPublicKeyFingerprint.length !== 32)
          return { result: PROTECTION_ERROR.INVALID_ARGUMENT };
        if (h.modelNow() - p.at >= PREPARE_VALID_MS) {
          this.prepare = undefined;
          return { result: PROTECTION_ERROR.TIMEOUT };
        }
        if (!Buffer.from(req.serverPublicKeyFingerprint).equals(publicKeyFingerprint(h.serverPublicKey)))
          return { result: PROTECTION_ERROR.KEY_MISMATCH };
        const message = serverConfirmMessage(
          h.deviceId,
          p.serverNonce,
          p.deviceNonce,
          publicKeyFingerprint(h.deviceKeys.publicKey),
        );
        let good = false;
        try {
          good = verify('sha256', message, h.serverPublicKey, req.serverSignature);
        } catch {
          good = false; // not DER at all: mbedtls_pk_verify fails the same way
        }
        if (!good) return { result: PROTECTION_ERROR.INVALID_SIGNATURE };
        this.prepare = undefined;
        this.enterServiceMode();
        return { result: 0 };
      }
      default:
        return { result: PROTECTION_ERROR.INVALID_ARGUMENT };
    }
  }
}
