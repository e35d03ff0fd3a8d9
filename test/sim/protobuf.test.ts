import { describe, expect, it } from 'vitest';
import {
  decodeSetProtectedState,
  decodeStartFirmwareUpdate,
  encodeGetProtectedStateReply,
  encodeIsDeviceSetupDoneReply,
  encodeSetProtectedStateReply,
  encodeStartFirmwareUpdateReply,
  readMessage,
} from '../../core/sim/protobuf';
import { decode, encode } from './control';

describe('protobuf the simulated Device OS reads', () => {
  it('decodes what Particle’s own definitions encode', () => {
    expect(
      decodeStartFirmwareUpdate(encode('StartFirmwareUpdateRequest', { size: 829248, format: 1 })),
    ).toEqual({
      size: 829248,
      format: 1,
    });
    const nonce = new Uint8Array(32).fill(7);
    expect(
      decodeSetProtectedState(
        encode('SetProtectedStateRequest', { action: 1, prepare: { serverNonce: nonce } }),
      ),
    ).toMatchObject({ action: 1, serverNonce: nonce });
  });

  it('refuses what nanopb refuses: truncated fields, a 33-byte nonce', () => {
    expect(readMessage(Uint8Array.of(0x0a, 0x05, 0x41))).toBeUndefined();
    expect(readMessage(Uint8Array.of(0x08))).toBeUndefined();
    const long = encode('SetProtectedStateRequest', {
      action: 1,
      prepare: { serverNonce: new Uint8Array(33) },
    });
    expect(decodeSetProtectedState(long)).toBeUndefined();
  });
});

describe('protobuf the simulated Device OS sends', () => {
  it('decodes with Particle’s own definitions', () => {
    expect(decode('StartFirmwareUpdateReply', encodeStartFirmwareUpdateReply(1024)).chunkSize).toBe(1024);
    expect(decode('IsDeviceSetupDoneReply', encodeIsDeviceSetupDoneReply(true)).done).toBe(true);
    expect(decode('GetProtectedStateReply', encodeGetProtectedStateReply(false, true)).overridden).toBe(true);
    const prepare = {
      deviceNonce: new Uint8Array(32).fill(1),
      deviceSignature: Uint8Array.of(0x30, 1, 2),
      devicePublicKeyFingerprint: new Uint8Array(32).fill(3),
    };
    const reply = decode('SetProtectedStateReply', encodeSetProtectedStateReply(prepare)) as {
      prepare: typeof prepare;
    };
    expect(Buffer.from(reply.prepare.deviceSignature)).toEqual(Buffer.from(prepare.deviceSignature));
    expect(encodeSetProtectedStateReply()).toHaveLength(0);
  });
});
