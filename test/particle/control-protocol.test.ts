import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  checkSetup,
  encodeServiceReply,
  initSetup,
  parseServiceReply,
  recvSetup,
  resetSetup,
  resultCodeName,
  sendSetup,
} from '../../core/particle/control-protocol';
import type { ControlSetup } from '../../core/usb/transport';

// particle-usb 4.1.0 is the reference: our packets and replies must be byte-identical to its own.
const require = createRequire(import.meta.url);
interface ProtoSetup {
  bmRequestType: number;
  bRequest: number;
  wIndex: number;
  wValue: number;
  wLength: number;
}
const proto = require('particle-usb/src/usb-protocol.js') as {
  initRequest(type: number, size: number): ProtoSetup;
  checkRequest(id: number): ProtoSetup;
  sendRequest(id: number, size: number): ProtoSetup;
  recvRequest(id: number, size: number): ProtoSetup;
  resetRequest(id?: number): ProtoSetup;
  encodeReply(rep: { status: number; id?: number; size?: number; result?: number }): Buffer;
  parseReply(data: Buffer): { flags: number; status: number; id?: number; size?: number; result?: number };
};

/** Our seam's setup as the raw fields libusb would put on the wire. */
const raw = (s: ControlSetup, dirIn: boolean) => ({
  bmRequestType:
    (dirIn ? 0x80 : 0) | (s.requestType === 'vendor' ? 0x40 : 0) | (s.recipient === 'device' ? 0 : 1),
  bRequest: s.request,
  wValue: s.value,
  wIndex: s.index,
});

describe('control-request setup packets', () => {
  it('match particle-usb for every service request', () => {
    const pick = (p: ProtoSetup) => ({
      bmRequestType: p.bmRequestType,
      bRequest: p.bRequest,
      wValue: p.wValue,
      wIndex: p.wIndex,
    });
    expect(raw(initSetup(50, 0), true)).toEqual(pick(proto.initRequest(50, 0)));
    expect(raw(initSetup(90, 1234), true)).toEqual(pick(proto.initRequest(90, 1234)));
    expect(raw(checkSetup(7), true)).toEqual(pick(proto.checkRequest(7)));
    expect(raw(sendSetup(7), false)).toEqual(pick(proto.sendRequest(7, 100)));
    expect(raw(recvSetup(7), true)).toEqual(pick(proto.recvRequest(7, 100)));
    expect(raw(resetSetup(), true)).toEqual(pick(proto.resetRequest()));
    expect(raw(resetSetup(9), true)).toEqual(pick(proto.resetRequest(9)));
  });

  it('puts the service type in bRequest, never 0x50', () => {
    expect(initSetup(72, 0).request).toBe(1);
    expect(initSetup(72, 0).index).toBe(72);
  });
});

describe('service replies', () => {
  const samples = [
    { status: 0 },
    { status: 0, id: 1 },
    { status: 2, id: 65535 },
    { status: 0, id: 3, size: 70000 },
    { status: 0, id: 3, size: 12, result: -120 },
    { status: 3 },
    { status: 0, result: 0 },
  ];

  it('encode byte-identically to particle-usb', () => {
    for (const s of samples) expect(Buffer.from(encodeServiceReply(s))).toEqual(proto.encodeReply(s));
  });

  it('parse what particle-usb encodes', () => {
    for (const s of samples) {
      const parsed = parseServiceReply(new Uint8Array(proto.encodeReply(s)));
      expect(parsed).toEqual(s);
    }
  });

  it('parse replies padded to 64 bytes, as a device may send', () => {
    const padded = new Uint8Array(64);
    padded.set(encodeServiceReply({ status: 0, id: 5 }));
    expect(parseServiceReply(padded)).toEqual({ status: 0, id: 5 });
  });

  it('reject replies without status or shorter than their flags say', () => {
    expect(parseServiceReply(new Uint8Array([0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(parseServiceReply(new Uint8Array([0x03, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(parseServiceReply(new Uint8Array([1, 0]))).toBeUndefined();
  });
});

describe('resultCodeName', () => {
  it('names Device OS results and marks unknown ones', () => {
    expect(resultCodeName(-120)).toBe('NOT_SUPPORTED');
    expect(resultCodeName(-110)).toBe('BUSY');
    expect(resultCodeName(-999)).toBe('UNKNOWN(-999)');
  });

  it('uses Device OS system_error.h numbering, firmware-update and protection codes included', () => {
    expect(resultCodeName(-100)).toBe('UNKNOWN');
    expect(resultCodeName(-260)).toBe('NO_MEMORY');
    expect(resultCodeName(-270)).toBe('INVALID_ARGUMENT');
    expect(resultCodeName(-290)).toBe('OUT_OF_RANGE');
    expect(resultCodeName(-1330)).toBe('OTA_INTEGRITY_CHECK_FAILED');
    expect(resultCodeName(-1351)).toBe('OTA_INVALID_SIZE');
    expect(resultCodeName(-1380)).toBe('OTA_UPDATES_DISABLED');
    expect(resultCodeName(-1801)).toBe('PROTECTED');
  });
});
