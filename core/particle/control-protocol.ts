import type { ControlSetup } from '../usb/transport';

/*
 * The wire format of Particle's USB control-request protocol, byte for byte as particle-usb 4.1.0
 * speaks it (src/usb-protocol.js, src/device-base.js) and Device OS answers it.
 *
 * Every service request is a vendor request to the device (bmRequestType 0xC0 in, 0x40 out). Note
 * where the pieces travel: bRequest carries the SERVICE type (INIT=1 ... RESET=5), not 0x50; the
 * application request type (DFU_MODE=50, GET_DEVICE_ID=20, ...) travels in wIndex of INIT, and the
 * protocol request ID the device hands back travels in wIndex of CHECK/SEND/RECV/RESET. bRequest
 * 0x50 ('P') is only used by the legacy one-shot vendor requests (SYSTEM_VERSION, forced RESET).
 */

export const ServiceType = { INIT: 1, CHECK: 2, SEND: 3, RECV: 4, RESET: 5 } as const;

/** Status codes of a service reply (usb-protocol.js `Status`). */
export const ServiceStatus = { OK: 0, ERROR: 1, PENDING: 2, BUSY: 3, NO_MEMORY: 4, NOT_FOUND: 5 } as const;

/** Legacy bRequest of the one-shot vendor requests. */
export const PARTICLE_BREQUEST = 0x50;

/** Every IN service request asks for at least this many bytes (a full-speed/high-speed packet). */
export const MIN_WLENGTH = 64;
/** Largest data stage of one control transfer; longer payloads go in several SEND/RECV chunks. */
export const MAX_CHUNK_SIZE = 4096;
/** wValue of INIT is 16 bits, so a request payload cannot exceed this. */
export const MAX_PAYLOAD_SIZE = 0xffff;

const FieldFlag = { STATUS: 0x01, ID: 0x02, SIZE: 0x04, RESULT: 0x08 } as const;

/** Application request types used by the station (Device OS ctrl_request_type). */
export const RequestType = {
  GET_DEVICE_ID: 20,
  GET_SERIAL_NUMBER: 21,
  GET_SYSTEM_VERSION: 30,
  RESET: 40,
  FACTORY_RESET: 41,
  DFU_MODE: 50,
  SAFE_MODE: 60,
  START_LISTENING: 70,
  STOP_LISTENING: 71,
  GET_DEVICE_MODE: 72,
  SET_DEVICE_SETUP_DONE: 73,
  IS_DEVICE_SETUP_DONE: 74,
  GET_PROTECTED_STATE: 76,
  SET_PROTECTED_STATE: 77,
  MODULE_INFO: 90,
  GET_ASSET_INFO: 91,
  START_FIRMWARE_UPDATE: 250,
  FINISH_FIRMWARE_UPDATE: 251,
  CANCEL_FIRMWARE_UPDATE: 252,
  FIRMWARE_UPDATE_DATA: 253,
  CELLULAR_GET_ICCID: 554,
} as const;

/**
 * Device OS system_error_t values a reply's `result` may carry (Device OS services/inc/system_error.h;
 * particle-usb src/result.js lists the generic ones and -1801..-1803). The -13xx block is what the
 * firmware-update requests answer when the device refuses a module.
 */
export const ResultCode = {
  OK: 0,
  UNKNOWN: -100,
  BUSY: -110,
  NOT_SUPPORTED: -120,
  NOT_ALLOWED: -130,
  CANCELLED: -140,
  ABORTED: -150,
  TIMEOUT: -160,
  NOT_FOUND: -170,
  ALREADY_EXISTS: -180,
  TOO_LARGE: -190,
  NOT_ENOUGH_DATA: -191,
  LIMIT_EXCEEDED: -200,
  END_OF_STREAM: -201,
  INVALID_STATE: -210,
  FLASH_IO: -219,
  IO: -220,
  WOULD_BLOCK: -221,
  FILE: -225,
  NETWORK: -230,
  PROTOCOL: -240,
  INTERNAL: -250,
  NO_MEMORY: -260,
  INVALID_ARGUMENT: -270,
  BAD_DATA: -280,
  OUT_OF_RANGE: -290,
  DEPRECATED: -300,
  /** A modem AT command answered ERROR (CELLULAR_GET_ICCID without a SIM). */
  AT_NOT_OK: -1200,
  AT_RESPONSE_UNEXPECTED: -1210,
  OTA_MODULE_NOT_FOUND: -1300,
  OTA_UNSUPPORTED_MODULE: -1310,
  OTA_VALIDATION_FAILED: -1320,
  OTA_INTEGRITY_CHECK_FAILED: -1330,
  OTA_RESUMED_UPDATE_FAILED: -1331,
  OTA_DEPENDENCY_CHECK_FAILED: -1340,
  OTA_INVALID_ADDRESS: -1350,
  OTA_INVALID_SIZE: -1351,
  OTA_INVALID_PLATFORM: -1360,
  OTA_INVALID_FORMAT: -1370,
  OTA_UPDATES_DISABLED: -1380,
  OTA: -1390,
  PROTECTED: -1801,
  KEY_MISMATCH: -1802,
  INVALID_SIGNATURE: -1803,
} as const;

export const resultCodeName = (result: number): string => {
  for (const [name, value] of Object.entries(ResultCode)) if (value === result) return name;
  return `UNKNOWN(${result})`;
};

export interface ServiceReply {
  readonly status: number;
  readonly id?: number;
  readonly size?: number;
  readonly result?: number;
}

const vendor = (request: number, value: number, index: number): ControlSetup => ({
  requestType: 'vendor',
  recipient: 'device',
  request,
  value,
  index,
});

/** INIT: allocate a request on the device. wIndex = request type, wValue = payload size. IN, 64 bytes. */
export const initSetup = (requestType: number, payloadSize: number): ControlSetup =>
  vendor(ServiceType.INIT, payloadSize, requestType);

/** CHECK: poll a request by its protocol ID. IN, 64 bytes. */
export const checkSetup = (requestId: number): ControlSetup => vendor(ServiceType.CHECK, 0, requestId);

/** SEND: one chunk of the request payload. OUT, the only host-to-device service request. */
export const sendSetup = (requestId: number): ControlSetup => vendor(ServiceType.SEND, 0, requestId);

/** RECV: one chunk of the reply payload. IN, wLength = chunk size. */
export const recvSetup = (requestId: number): ControlSetup => vendor(ServiceType.RECV, 0, requestId);

/** RESET: drop one request, or every request with ID 0 (stale ones from an earlier host session). */
export const resetSetup = (requestId = 0): ControlSetup => vendor(ServiceType.RESET, 0, requestId);

/**
 * Parses a service reply. Layout: u32 field flags, u16 status (mandatory), then u16 request ID,
 * u32 payload size and i32 result, each present only when its flag is set. Little-endian.
 * Returns undefined for a reply too short for the fields its flags announce or without a status.
 */
export const parseServiceReply = (data: Uint8Array): ServiceReply | undefined => {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  const need = (n: number): boolean => offset + n <= data.byteLength;
  if (!need(4)) return undefined;
  const flags = view.getUint32(offset, true);
  offset += 4;
  if (!(flags & FieldFlag.STATUS) || !need(2)) return undefined;
  const reply: { status: number; id?: number; size?: number; result?: number } = {
    status: view.getUint16(offset, true),
  };
  offset += 2;
  if (flags & FieldFlag.ID) {
    if (!need(2)) return undefined;
    reply.id = view.getUint16(offset, true);
    offset += 2;
  }
  if (flags & FieldFlag.SIZE) {
    if (!need(4)) return undefined;
    reply.size = view.getUint32(offset, true);
    offset += 4;
  }
  if (flags & FieldFlag.RESULT) {
    if (!need(4)) return undefined;
    reply.result = view.getInt32(offset, true);
    offset += 4;
  }
  return reply;
};

/** The device side of `parseServiceReply` (usb-protocol.js `encodeReply`), for simulators and tests. */
export const encodeServiceReply = (reply: ServiceReply): Uint8Array => {
  let flags: number = FieldFlag.STATUS;
  let size = 6;
  if (reply.id !== undefined) {
    flags |= FieldFlag.ID;
    size += 2;
  }
  if (reply.size !== undefined) {
    flags |= FieldFlag.SIZE;
    size += 4;
  }
  if (reply.result !== undefined) {
    flags |= FieldFlag.RESULT;
    size += 4;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  view.setUint32(offset, flags, true);
  offset += 4;
  view.setUint16(offset, reply.status, true);
  offset += 2;
  if (reply.id !== undefined) {
    view.setUint16(offset, reply.id, true);
    offset += 2;
  }
  if (reply.size !== undefined) {
    view.setUint32(offset, reply.size, true);
    offset += 4;
  }
  if (reply.result !== undefined) view.setInt32(offset, reply.result, true);
  return out;
};

/**
 * CHECK back-off, in ms. particle-usb starts at 50 ms (device-base.js DEFAULT_CHECK_INTERVALS), but
 * Device OS answers most requests within a few ms, so that first 50 ms was pure host wait on every
 * request (about 150 ms per device on the line: identify, DFU_MODE, MODULE_INFO). A CHECK that finds
 * the request still pending costs one ~3 ms control transfer, so starting short is cheap; the tail
 * matches particle-usb's for slow requests.
 */
export const DEFAULT_CHECK_INTERVALS: readonly number[] = [5, 5, 10, 20, 50, 100, 250, 500, 1000];
