import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';

/*
 * The Particle Cloud's half of the Service Mode exchange, for the mock cloud. The messages are the
 * ones Device OS signs and checks (system/src/control/config.cpp, setProtectedState):
 *
 * - the device signs SHA-256("device" ‖ device ID (12 bytes) ‖ len ‖ device nonce ‖ len ‖ server
 *   nonce) with its own P-256 key; the cloud verifies that with the public key it holds for the
 *   device (the real cloud knows every device's key from manufacturing);
 * - the cloud signs SHA-256("server" ‖ device ID ‖ len ‖ server nonce ‖ len ‖ device nonce ‖ len ‖
 *   SHA-256 of the device key) with its own key; the device checks it against the server key in its
 *   DCT, after comparing that key's fingerprint.
 *
 * len is a u32 little-endian byte count (updateSha256Delimited); signatures are ECDSA, DER-encoded;
 * a key fingerprint is SHA-256 of its SubjectPublicKeyInfo DER. Written here rather than borrowed
 * from core/sim, which real code never imports, so the simulator and the mock check each other.
 */

export const SERVER_NONCE_SIZE = 32;
/** How long a server nonce may wait for its `confirm` (the device itself allows 60 s after PREPARE). */
export const SERVER_NONCE_VALID_MS = 120_000;

export type KeyInput = KeyObject | string;

const publicKeyOf = (k: KeyInput): KeyObject =>
  typeof k === 'string' ? createPublicKey(k) : k.type === 'private' ? createPublicKey(k) : k;

export const keyFingerprint = (k: KeyInput): Buffer =>
  createHash('sha256')
    .update(publicKeyOf(k).export({ type: 'spki', format: 'der' }))
    .digest();

const delimited = (b: Uint8Array): Buffer => {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length, 0);
  return Buffer.concat([len, b]);
};

/** What the device signs in its answer to PREPARE. */
export const deviceSignedMessage = (deviceId: string, deviceNonce: Uint8Array, serverNonce: Uint8Array) =>
  Buffer.concat([
    Buffer.from('device'),
    Buffer.from(deviceId, 'hex'),
    delimited(deviceNonce),
    delimited(serverNonce),
  ]);

/** What the cloud signs for the device's CONFIRM. */
export const serverSignedMessage = (
  deviceId: string,
  serverNonce: Uint8Array,
  deviceNonce: Uint8Array,
  deviceKeyFingerprint: Uint8Array,
) =>
  Buffer.concat([
    Buffer.from('server'),
    Buffer.from(deviceId, 'hex'),
    delimited(serverNonce),
    delimited(deviceNonce),
    delimited(deviceKeyFingerprint),
  ]);

/** A reply the mock server sends as JSON; `applied` when the cloud's state changed. */
export interface AuthorityReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly applied: boolean;
}

const refuse = (status: number, error: string): AuthorityReply => ({
  status,
  body: { ok: false, error },
  applied: false,
});

const bytesOf = (v: unknown): Buffer | undefined =>
  typeof v === 'string' && v.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)
    ? Buffer.from(v, 'base64')
    : undefined;

/**
 * The mock cloud's signing key, the device keys it knows, and the server nonces it has handed out
 * (each good for one `confirm`, for SERVER_NONCE_VALID_MS).
 */
export class ProtectionAuthority {
  private privateKey: KeyObject;
  private readonly deviceKeys = new Map<string, KeyObject>();
  private keyResolver: ((deviceId: string) => KeyInput | undefined) | undefined;
  private readonly nonces = new Map<string, { nonce: Buffer; at: number }[]>();

  constructor(
    privateKey?: KeyInput,
    private readonly now: () => number = Date.now,
  ) {
    this.privateKey = privateKey === undefined ? freshKey() : toPrivate(privateKey);
  }

  /** Replaces the signing key (a device trusts exactly one; see SimDeviceOptions.serverPublicKey). */
  setKey(privateKey: KeyInput): void {
    this.privateKey = toPrivate(privateKey);
  }

  get publicKeyPem(): string {
    return createPublicKey(this.privateKey).export({ type: 'spki', format: 'pem' }).toString();
  }

  addDeviceKey(deviceId: string, publicKey: KeyInput): void {
    this.deviceKeys.set(deviceId.toLowerCase(), publicKeyOf(publicKey));
  }

  /**
   * Where the key of a device not added one by one comes from: simulated devices derive theirs
   * from their ID, so a mock serving them can know every one, as the real cloud knows real ones.
   */
  resolveKeysWith(resolver: (deviceId: string) => KeyInput | undefined): void {
    this.keyResolver = resolver;
  }

  hasDeviceKey(deviceId: string): boolean {
    return this.keyOf(deviceId.toLowerCase()) !== undefined;
  }

  private keyOf(id: string): KeyObject | undefined {
    const known = this.deviceKeys.get(id);
    if (known || !this.keyResolver) return known;
    const resolved = this.keyResolver(id);
    if (resolved === undefined) return undefined;
    const key = publicKeyOf(resolved);
    this.deviceKeys.set(id, key);
    return key;
  }

  prepare(deviceId: string): AuthorityReply {
    const id = deviceId.toLowerCase();
    if (!this.keyOf(id)) return refuse(400, 'Device public key was not found');
    const nonce = randomBytes(SERVER_NONCE_SIZE);
    const live = this.live(id);
    live.push({ nonce, at: this.now() });
    this.nonces.set(id, live);
    return { status: 200, body: { ok: true, server_nonce: nonce.toString('base64') }, applied: true };
  }

  confirm(deviceId: string, body: Record<string, unknown>): AuthorityReply {
    const id = deviceId.toLowerCase();
    const key = this.keyOf(id);
    if (!key) return refuse(400, 'Device public key was not found');
    const serverNonce = bytesOf(body.server_nonce);
    const deviceNonce = bytesOf(body.device_nonce);
    const signature = bytesOf(body.device_signature);
    const fingerprint = bytesOf(body.device_public_key_fingerprint);
    if (!serverNonce || !deviceNonce || !signature || !fingerprint)
      // Worded without the field names so the client's classifier reads it as a plain bad request.
      return refuse(400, 'The confirm action needs its four base64 fields.');
    const live = this.live(id);
    const i = live.findIndex((n) => n.nonce.equals(serverNonce));
    if (i < 0) return refuse(400, 'The server nonce is unknown, already used or expired.');
    // Single use, whatever the outcome: a refused confirm starts over from prepare.
    live.splice(i, 1);
    this.nonces.set(id, live);
    if (!fingerprint.equals(keyFingerprint(key)))
      return refuse(400, "Invalid device signature: the public key fingerprint is not this device's key.");
    let good = false;
    try {
      good = verify('sha256', deviceSignedMessage(id, deviceNonce, serverNonce), key, signature);
    } catch {
      good = false; // not DER at all
    }
    if (!good) return refuse(400, 'Invalid device signature.');
    const serverSignature = sign(
      'sha256',
      serverSignedMessage(id, serverNonce, deviceNonce, fingerprint),
      this.privateKey,
    );
    return {
      status: 200,
      body: {
        ok: true,
        server_signature: serverSignature.toString('base64'),
        server_public_key_fingerprint: keyFingerprint(this.privateKey).toString('base64'),
      },
      applied: true,
    };
  }

  private live(id: string): { nonce: Buffer; at: number }[] {
    const cutoff = this.now() - SERVER_NONCE_VALID_MS;
    return (this.nonces.get(id) ?? []).filter((n) => n.at > cutoff);
  }
}

const freshKey = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

const toPrivate = (k: KeyInput): KeyObject => {
  const key = typeof k === 'string' ? createPrivateKey(k) : k;
  if (key.type !== 'private') throw new Error('The mock cloud needs a private key to sign with.');
  return key;
};
