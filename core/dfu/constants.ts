/*
 * USB DFU 1.1 (§3, §6.1.2) and ST DfuSe (AN3156) numbers. Names follow the spec so logs and error
 * details can be matched against it directly.
 */

export const DfuRequest = {
  DETACH: 0,
  DNLOAD: 1,
  UPLOAD: 2,
  GETSTATUS: 3,
  CLRSTATUS: 4,
  GETSTATE: 5,
  ABORT: 6,
} as const;

export const DfuState = {
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
export type DfuStateNumber = (typeof DfuState)[keyof typeof DfuState];

const STATE_NAMES = [
  'appIDLE',
  'appDETACH',
  'dfuIDLE',
  'dfuDNLOAD-SYNC',
  'dfuDNBUSY',
  'dfuDNLOAD-IDLE',
  'dfuMANIFEST-SYNC',
  'dfuMANIFEST',
  'dfuMANIFEST-WAIT-RESET',
  'dfuUPLOAD-IDLE',
  'dfuERROR',
] as const;

export const stateName = (state: number): string => STATE_NAMES[state] ?? `state ${state}`;

const STATUS_NAMES = [
  'OK',
  'errTARGET',
  'errFILE',
  'errWRITE',
  'errERASE',
  'errCHECK_ERASED',
  'errPROG',
  'errVERIFY',
  'errADDRESS',
  'errNOTDONE',
  'errFIRMWARE',
  'errVENDOR',
  'errUSBR',
  'errPOR',
  'errUNKNOWN',
  'errSTALLEDPKT',
] as const;
export type DfuStatusName = (typeof STATUS_NAMES)[number];

export const statusName = (status: number): string => STATUS_NAMES[status] ?? `status ${status}`;

/** What each status means, in words for an engineer (DFU 1.1 Table 6.1 / AN3156). */
export const STATUS_MEANING: Record<DfuStatusName, string> = {
  OK: 'no error',
  errTARGET: 'the file is not for this device',
  errFILE: 'the file failed a vendor-specific check',
  errWRITE: 'the device could not write memory',
  errERASE: 'erasing memory failed',
  errCHECK_ERASED: 'memory was not erased before programming',
  errPROG: 'programming memory failed',
  errVERIFY: 'programmed memory failed its check',
  errADDRESS: 'the address is outside the memory the device accepts',
  errNOTDONE: 'the device did not expect the download to end yet',
  errFIRMWARE: 'the firmware on the device is corrupt',
  errVENDOR: 'a vendor-specific error',
  errUSBR: 'unexpected USB reset',
  errPOR: 'unexpected power-on reset',
  errUNKNOWN: 'an unknown error',
  errSTALLEDPKT: 'the device stalled an unexpected request',
};

export const DfuseCommand = {
  GET_COMMANDS: 0x00,
  SET_ADDRESS: 0x21,
  ERASE: 0x41,
  READ_UNPROTECT: 0x92,
} as const;

/** bcdDFUVersion of ST's DfuSe extension (AN3156). */
export const BCD_DFUSE = 0x011a;
export const DFU_INTERFACE_CLASS = 0xfe;
export const DFU_INTERFACE_SUBCLASS = 0x01;
/** bInterfaceProtocol 2 = DFU mode (1 would be the run-time interface). */
export const DFU_PROTOCOL_DFU_MODE = 0x02;
