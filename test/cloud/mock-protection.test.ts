import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deviceSignedMessage,
  keyFingerprint,
  ProtectionAuthority,
  SERVER_NONCE_SIZE,
  SERVER_NONCE_VALID_MS,
  serverSignedMessage,
} from '../../core/cloud/mock-protection';
import {
  devicePrepareMessage,
  publicKeyFingerprint,
  serverConfirmMessage,
  simCloudKeys,
  simDeviceKeys,
} from '../../core/sim/protection';
import { deviceId } from './helpers';

// The mock cloud's half of the Service Mode exchange, written apart from the simulator's device
// half (core/sim/protection.ts); here each is checked against the other.

const ID = deviceId(7);
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** The device's answer to PREPARE, made the way Device OS makes it. */
const deviceAnswer = (serverNonce: Buffer, keys = simDeviceKeys(ID)) => {
  const deviceNonce = randomBytes(32);
  return {
    server_nonce: serverNonce.toString('base64'),
    device_nonce: deviceNonce.toString('base64'),
    device_signature: sign(
      'sha256',
      devicePrepareMessage(ID, deviceNonce, serverNonce),
      keys.privateKey,
    ).toString('base64'),
    device_public_key_fingerprint: Buffer.from(publicKeyFingerprint(keys.publicKey)).toString('base64'),
    deviceNonce,
  };
};

const nonceOf = (r: { body: Record<string, unknown> }) => Buffer.from(String(r.body.server_nonce), 'base64');

describe('ProtectionAuthority (the mock cloud side of Service Mode)', () => {
  it('signs and checks the same messages as the simulated Device OS', () => {
    const n1 = randomBytes(32);
    const n2 = randomBytes(32);
    const fp = randomBytes(32);
    expect(deviceSignedMessage(ID, n1, n2)).toEqual(devicePrepareMessage(ID, n1, n2));
    expect(serverSignedMessage(ID, n1, n2, fp)).toEqual(serverConfirmMessage(ID, n1, n2, fp));
    expect(keyFingerprint(simCloudKeys().publicKey)).toEqual(
      Buffer.from(publicKeyFingerprint(simCloudKeys().publicKey)),
    );
  });

  it('prepare hands out a 32-byte nonce; confirm verifies the device and signs what the device checks', () => {
    const authority = new ProtectionAuthority(simCloudKeys().privateKey);
    authority.addDeviceKey(ID, simDeviceKeys(ID).publicKey);
    const prepared = authority.prepare(ID);
    expect(prepared).toMatchObject({ status: 200, applied: true, body: { ok: true } });
    expect(nonceOf(prepared)).toHaveLength(SERVER_NONCE_SIZE);
    const answer = deviceAnswer(nonceOf(prepared));
    const confirmed = authority.confirm(ID, answer);
    expect(confirmed).toMatchObject({ status: 200, applied: true });
    const sig = Buffer.from(String(confirmed.body.server_signature), 'base64');
    const fp = Buffer.from(String(confirmed.body.server_public_key_fingerprint), 'base64');
    expect(fp).toEqual(Buffer.from(publicKeyFingerprint(simCloudKeys().publicKey)));
    const message = serverConfirmMessage(
      ID,
      nonceOf(prepared),
      answer.deviceNonce,
      publicKeyFingerprint(simDeviceKeys(ID).publicKey),
    );
    expect(verify('sha256', message, simCloudKeys().publicKey, sig)).toBe(true);
  });

  it('refuses an unknown device key, a wrong key, a forged signature, a reused or stale nonce', () => {
    let now = 1_000_000;
    const authority = new ProtectionAuthority(undefined, () => now);
    expect(authority.prepare(ID)).toMatchObject({
      status: 400,
      applied: false,
      body: { error: 'Device public key was not found' },
    });
    authority.addDeviceKey(
      ID,
      simDeviceKeys(ID).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );

    const other = p256();
    const wrongKey = deviceAnswer(nonceOf(authority.prepare(ID)), other);
    expect(authority.confirm(ID, wrongKey).body.error).toMatch(/signature.*fingerprint/i);

    const forged = deviceAnswer(nonceOf(authority.prepare(ID)));
    forged.device_signature = sign(
      'sha256',
      Buffer.from('something else'),
      simDeviceKeys(ID).privateKey,
    ).toString('base64');
    expect(authority.confirm(ID, forged).body.error).toBe('Invalid device signature.');

    const good = deviceAnswer(nonceOf(authority.prepare(ID)));
    expect(authority.confirm(ID, good).status).toBe(200);
    expect(authority.confirm(ID, good).body.error).toMatch(/nonce/);

    const late = deviceAnswer(nonceOf(authority.prepare(ID)));
    now += SERVER_NONCE_VALID_MS + 1;
    expect(authority.confirm(ID, late).body.error).toMatch(/nonce/);

    expect(authority.confirm(ID, { server_nonce: 'x' })).toMatchObject({ status: 400, applied: false });
  });

  it('asks its resolver for a key it was not given (simulated devices), and remembers it', () => {
    const authority = new ProtectionAuthority(simCloudKeys().privateKey);
    const asked: string[] = [];
    authority.resolveKeysWith((id) => {
      asked.push(id);
      return id === ID ? simDeviceKeys(id).publicKey : undefined;
    });
    expect(authority.hasDeviceKey(deviceId(8))).toBe(false);
    const prepared = authority.prepare(ID.toUpperCase());
    expect(prepared.status).toBe(200);
    expect(authority.confirm(ID, deviceAnswer(nonceOf(prepared))).status).toBe(200);
    expect(asked).toEqual([deviceId(8), ID]);
  });

  it('signs with the key it is given, and says which public key that is', () => {
    const authority = new ProtectionAuthority();
    const keys = p256();
    authority.setKey(keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(authority.publicKeyPem).toBe(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(() => authority.setKey(keys.publicKey)).toThrow(/private key/);
  });
});
