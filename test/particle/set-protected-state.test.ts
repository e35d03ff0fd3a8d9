import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  decodePrepareReply,
  encodeSetProtectedState,
  setProtectedStateError,
} from '../../core/particle/set-protected-state';

// Request 77's messages checked against Particle's own definitions (@particle/device-os-protobuf,
// control/config.proto), the way particle-usb's unprotectDevice encodes and decodes them.

interface Codec {
  encode(o: Record<string, unknown>): { finish(): Uint8Array };
  decode(b: Uint8Array): Record<string, unknown>;
  toObject(m: Record<string, unknown>, o: { defaults: boolean }): Record<string, unknown>;
}
const require = createRequire(import.meta.url);
const defs = (require('@particle/device-os-protobuf') as { definitions: Record<string, Codec> }).definitions;
const codec = (name: string): Codec => {
  const c = defs[name];
  if (!c) throw new Error(`no protobuf definition ${name}`);
  return c;
};
const decodeAsParticle = (name: string, b: Uint8Array) =>
  codec(name).toObject(codec(name).decode(b), { defaults: true });
const encodeAsParticle = (name: string, o: Record<string, unknown>) =>
  new Uint8Array(codec(name).encode(o).finish());

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('SetProtectedStateRequest (77) messages', () => {
  it('encodes PREPARE, CONFIRM and RESET byte for byte as protobufjs does, and Particle decodes them', () => {
    const nonce = bytes(32, 7);
    const prepare = encodeSetProtectedState({ action: 'prepare', serverNonce: nonce });
    expect(prepare).toEqual(
      encodeAsParticle('SetProtectedStateRequest', { action: 1, prepare: { serverNonce: nonce } }),
    );
    expect(decodeAsParticle('SetProtectedStateRequest', prepare)).toMatchObject({
      action: 1,
      prepare: { serverNonce: nonce },
    });

    const confirm = { serverSignature: bytes(71, 3), serverPublicKeyFingerprint: bytes(32, 9) };
    const encoded = encodeSetProtectedState({ action: 'confirm', ...confirm });
    expect(encoded).toEqual(encodeAsParticle('SetProtectedStateRequest', { action: 2, confirm }));
    expect(decodeAsParticle('SetProtectedStateRequest', encoded)).toMatchObject({ action: 2, confirm });

    // RESET is proto3's default action, yet protobufjs (particle-usb) writes it: 08 00.
    const reset = encodeSetProtectedState({ action: 'reset' });
    expect(reset).toEqual(encodeAsParticle('SetProtectedStateRequest', { action: 0 }));
    expect([...reset]).toEqual([8, 0]);
  });

  it("decodes Particle's SetProtectedStateReply, and a reply without prepare as not protected", () => {
    const prepare = {
      deviceNonce: bytes(32, 1),
      deviceSignature: bytes(70, 2),
      devicePublicKeyFingerprint: bytes(32, 3),
    };
    const reply = encodeAsParticle('SetProtectedStateReply', { prepare });
    expect(decodePrepareReply(reply)).toEqual(prepare);
    expect(decodePrepareReply(encodeAsParticle('SetProtectedStateReply', {}))).toBeUndefined();
  });

  it('names each Device OS result for the step that produced it', () => {
    const code = (action: 'prepare' | 'confirm' | 'reset', result: number) =>
      setProtectedStateError(action, result).code;
    expect(code('prepare', -120)).toBe('SERVICE_MODE_UNSUPPORTED');
    expect(code('reset', -120)).toBe('SERVICE_MODE_UNSUPPORTED');
    expect(code('confirm', -1802)).toBe('SERVICE_MODE_SERVER_KEY_MISMATCH');
    expect(code('confirm', -1803)).toBe('SERVICE_MODE_SIGNATURE_MISMATCH');
    expect(code('confirm', -160)).toBe('SERVICE_MODE_TIMEOUT');
    expect(code('confirm', -210)).toBe('SERVICE_MODE_DEVICE_REFUSED');
    expect(code('prepare', -270)).toBe('SERVICE_MODE_DEVICE_REFUSED');
    const e = setProtectedStateError('confirm', -1803);
    expect(e.details).toMatchObject({ action: 'confirm', result: -1803, side: 'device' });
    expect(setProtectedStateError('confirm', -210).message).toMatch(/no longer holds the PREPARE/);
  });
});
