/** DFU 1.1 §3 / §6.1.2 and ST AN3156 numbers, as the device side needs them. */

export const DFU_REQUEST = {
  DETACH: 0,
  DNLOAD: 1,
  UPLOAD: 2,
  GETSTATUS: 3,
  CLRSTATUS: 4,
  GETSTATE: 5,
  ABORT: 6,
} as const;

export const DFU_STATE = {
  appIDLE: 0,
  appDETACH: 1,
  dfuIDLE: 2,
  dfuDNLOAD_SYNC: 3,
  dfuDNBUSY: 4,
  dfuDNLOAD_IDLE: 5,
  dfuMANIFEST_SYNC: 6,
  dfuMANIFEST: 7,
  dfuMANIFEST_WAIT_RESET: 8,
  dfuUPLOAD_IDLE: 9,
  dfuERROR: 10,
} as const;
export type DfuStateValue = (typeof DFU_STATE)[keyof typeof DFU_STATE];

export const DFU_STATUS = {
  OK: 0,
  errTARGET: 1,
  errFILE: 2,
  errWRITE: 3,
  errERASE: 4,
  errCHECK_ERASED: 5,
  errPROG: 6,
  errVERIFY: 7,
  errADDRESS: 8,
  errNOTDONE: 9,
  errFIRMWARE: 10,
  errVENDOR: 11,
  errUSBR: 12,
  errPOR: 13,
  errUNKNOWN: 14,
  errSTALLEDPKT: 15,
} as const;
export type DfuStatusName = keyof typeof DFU_STATUS;

export const DFUSE_COMMAND = {
  GET_COMMANDS: 0x00,
  SET_ADDRESS_POINTER: 0x21,
  ERASE: 0x41,
  READ_UNPROTECT: 0x92,
  /** Particle's extensions (Device OS bootloader usbd_dfu.h, listed from 6.1.1 / 6.1.2). */
  ENTER_SAFE_MODE: 0xfa,
  CLEAR_SECURITY_MODE_OVERRIDE: 0xfb,
} as const;

/** bmAttributes bits of the DFU functional descriptor (DFU 1.1 §4.1.3). */
export const DFU_ATTR = {
  CAN_DNLOAD: 0x01,
  CAN_UPLOAD: 0x02,
  MANIFESTATION_TOLERANT: 0x04,
  WILL_DETACH: 0x08,
} as const;

export const DFUSE_BCD = 0x011a;
