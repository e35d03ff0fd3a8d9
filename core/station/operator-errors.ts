import type { LsError } from '../errors/result';
import { LABEL_ERRORS } from '../labels/errors';

/**
 * What an operator sees for each failure code: a short title and one thing to do. The code and
 * the engineer-facing message are kept in the log; this table is the line's vocabulary (like
 * Etcher's error table). `transient` marks failures that a retry can fix; a retry is still only
 * automatic when the profile's retry policy lists the code.
 */
export interface OperatorError {
  readonly title: string;
  readonly remedy: string;
  readonly transient: boolean;
}

const RESEAT = 'Re-seat the cable and retry.';
const SET_ASIDE = 'Set the device aside for an engineer.';

export const OPERATOR_ERRORS: Readonly<Record<string, OperatorError>> = {
  // The device or its cable.
  USB_DISCONNECTED: { title: 'Device unplugged', remedy: RESEAT, transient: true },
  USB_TIMEOUT: { title: 'Device stopped answering', remedy: RESEAT, transient: true },
  USB_IO: { title: 'USB transfer failed', remedy: RESEAT, transient: true },
  USB_STALL: { title: 'Device refused a request', remedy: RESEAT, transient: true },
  USB_BUSY: {
    title: 'Device in use by another program',
    remedy: 'Close other Particle tools, then retry.',
    transient: true,
  },
  USB_ACCESS_DENIED: {
    title: 'No permission to open the device',
    remedy: 'Ask an engineer to install the udev rules (see the README), then retry.',
    transient: false,
  },
  USB_NOT_FOUND: { title: 'Device not found', remedy: RESEAT, transient: true },
  USB_UNAVAILABLE: {
    title: 'No USB bus',
    remedy: 'Ask an engineer: this computer has no usable USB.',
    transient: false,
  },
  DEVICE_UNPLUGGED: { title: 'Device unplugged', remedy: RESEAT, transient: true },
  DEVICE_NOT_BACK: {
    title: 'Device did not come back after restarting',
    remedy: RESEAT,
    transient: true,
  },
  DEVICE_ID_CHANGED: {
    title: 'A different device came back',
    remedy: 'Plug in one device per slot; re-seat it and retry.',
    transient: true,
  },
  DEVICE_ID_INVALID: { title: 'Device reports an invalid ID', remedy: SET_ASIDE, transient: false },
  // Identity the profile requires (docs/devices.md, "Identity").
  DEVICE_SERIAL_UNREADABLE: {
    title: 'Serial number cannot be read',
    remedy: 'Set the device aside for an engineer: it cannot be labelled without its serial number.',
    transient: false,
  },
  DEVICE_ICCID_UNREADABLE: {
    title: 'SIM card cannot be read',
    remedy: 'Check the SIM card is seated and the antenna fitted, then retry; set it aside if it repeats.',
    transient: true,
  },
  DEVICE_NEVER_CAME_BACK: {
    title: 'Device did not come back after restarting',
    remedy: RESEAT,
    transient: true,
  },
  DEVICE_ID_MISMATCH: {
    title: 'A different device came back',
    remedy: 'Plug in one device per slot; re-seat it and retry.',
    transient: true,
  },
  DEVICE_CHANGED_PORT: { title: 'Device came back on another port', remedy: RESEAT, transient: true },
  DEVICE_WRONG_MODE: { title: 'Device came back in the wrong mode', remedy: RESEAT, transient: true },
  DEVICE_NOT_RECOGNISED: {
    title: 'Not a Particle device',
    remedy: 'Unplug it: this station only programs Particle devices.',
    transient: false,
  },
  DFU_ENTRY_FAILED: {
    title: 'Could not start programming mode',
    remedy: 'Hold MODE, tap RESET, release MODE on yellow blink, then retry.',
    transient: true,
  },
  DUPLICATE_DEVICE_ID: {
    title: 'Same device ID on two slots',
    remedy: 'Unplug both; set aside any device that reports another device’s ID.',
    transient: false,
  },
  STEP_TIMEOUT: { title: 'Step took too long', remedy: RESEAT, transient: true },

  // Wrong thing on the fixture: never retried.
  WRONG_PLATFORM: {
    title: 'Wrong device type',
    remedy: 'Set aside: wrong platform for this product.',
    transient: false,
  },
  WRONG_PRODUCT: {
    title: 'Device belongs to another product',
    remedy: 'Set aside: wrong product.',
    transient: false,
  },
  NOT_PARTICLE: {
    title: 'Not a Particle device',
    remedy: 'Unplug it: this station only programs Particle devices.',
    transient: false,
  },

  // Entering DFU mode and flashing.
  DFU_ENTER_FAILED: { title: 'Could not start programming mode', remedy: RESEAT, transient: true },
  PARTICLE_NO_ANSWER: { title: 'Device did not answer', remedy: RESEAT, transient: true },
  PARTICLE_REQUEST_TIMEOUT: { title: 'Device did not answer in time', remedy: RESEAT, transient: true },
  PARTICLE_REQUEST_BUSY: { title: 'Device busy', remedy: 'Wait a moment and retry.', transient: true },
  PARTICLE_REQUEST_NOT_SUPPORTED: {
    title: 'Device firmware too old for control requests',
    remedy: 'Retry; if it fails again, set the device aside for an engineer.',
    transient: true,
  },
  PARTICLE_REQUEST_FAILED: { title: 'Device refused the request', remedy: RESEAT, transient: true },
  PARTICLE_PROTOCOL_ERROR: { title: 'Device answered wrongly', remedy: SET_ASIDE, transient: false },
  DFU_TIMEOUT: { title: 'Programming timed out', remedy: RESEAT, transient: true },
  DFU_DEVICE_STUCK: { title: 'Device stuck while programming', remedy: RESEAT, transient: true },
  DFU_DEVICE_ERROR: {
    title: 'Device reported a programming error',
    remedy: 'Retry once; if it fails again, set it aside.',
    transient: true,
  },
  DFU_BAD_STATE: { title: 'Device in an unexpected programming state', remedy: RESEAT, transient: true },
  DFU_BAD_STATUS: { title: 'Device reported a programming error', remedy: RESEAT, transient: true },
  DFU_SHORT_READ: { title: 'Readback incomplete', remedy: RESEAT, transient: true },
  DFU_VERIFY_MISMATCH: {
    title: 'Written firmware did not read back the same',
    remedy: 'Retry once; if it fails again, set the device aside: its flash may be faulty.',
    transient: true,
  },
  DFU_READ_ONLY: { title: 'Device flash is write-protected', remedy: SET_ASIDE, transient: false },
  DFU_OUT_OF_RANGE: {
    title: 'Firmware does not fit this device',
    remedy: 'Stop the batch and call an engineer.',
    transient: false,
  },
  DFU_LAYOUT_INVALID: {
    title: 'Device reports an unknown memory layout',
    remedy: SET_ASIDE,
    transient: false,
  },
  DFU_NO_INTERFACE: { title: 'Device has no programming interface', remedy: SET_ASIDE, transient: false },
  DFU_NO_ALT: { title: 'Device has no programming interface', remedy: SET_ASIDE, transient: false },
  DFU_NOT_SUPPORTED: { title: 'Device cannot be programmed this way', remedy: SET_ASIDE, transient: false },
  MODULE_VERSION_MISMATCH: {
    title: 'Device runs different firmware than was written',
    remedy: 'Retry once; if it fails again, set the device aside.',
    transient: true,
  },
  MODULE_INVALID: {
    title: 'Device rejected the firmware that was written',
    remedy: 'Set the device aside and call an engineer: its Device OS may be too old for this firmware.',
    transient: false,
  },

  MODULE_HASH_MISMATCH: {
    title: 'Device runs a different build than was written',
    remedy: 'Set the device aside and call an engineer.',
    transient: false,
  },

  // Normal-mode updates (bootloader, NCP, assets): Device OS installs them and restarts.
  DEVICE_UPDATE_NOT_APPLIED: {
    title: 'Device kept its old firmware',
    remedy: 'Retry once; if it fails again, set the device aside.',
    transient: true,
  },
  DEVICE_UPDATE_REJECTED_INTEGRITY: {
    title: 'Device found the firmware damaged',
    remedy: 'Retry once; if it fails again, stop the batch and call an engineer.',
    transient: true,
  },
  DEVICE_UPDATE_REJECTED_DEPENDENCY: {
    title: 'Device needs other firmware first',
    remedy: 'Set the device aside and call an engineer: its Device OS does not suit this firmware.',
    transient: false,
  },
  ...Object.fromEntries(
    [
      'DEVICE_UPDATE_REJECTED',
      'DEVICE_UPDATE_REJECTED_ADDRESS',
      'DEVICE_UPDATE_REJECTED_SIZE',
      'DEVICE_UPDATE_REJECTED_PLATFORM',
      'DEVICE_UPDATE_REJECTED_FORMAT',
      'DEVICE_UPDATE_REJECTED_UNSUPPORTED',
      'DEVICE_UPDATE_COMPRESSED_REFUSED',
      'DEVICE_UPDATE_EMPTY_IMAGE',
      'DEVICE_UPDATE_ASSET_UNSUPPORTED',
    ].map((code) => [
      code,
      {
        title: 'Device refused the firmware',
        remedy: 'Stop the batch and call an engineer: the firmware does not suit this device.',
        transient: false,
      },
    ]),
  ),
  DEVICE_UPDATES_DISABLED: {
    title: 'Device application blocks updates',
    remedy: 'Put the device in safe mode (hold MODE, tap RESET, release on magenta), then retry.',
    transient: false,
  },
  DEVICE_BUSY_UPDATING: {
    title: 'Device busy with another update',
    remedy: 'Wait until the LED stops blinking magenta, then retry.',
    transient: true,
  },
  ...Object.fromEntries(
    [
      'DEVICE_UPDATE_START_FAILED',
      'DEVICE_UPDATE_DATA_REJECTED',
      'DEVICE_UPDATE_INCOMPLETE',
      'DEVICE_UPDATE_FINISH_FAILED',
      'DEVICE_UPDATE_TIMEOUT',
    ].map((code) => [code, { title: 'Firmware transfer failed', remedy: RESEAT, transient: true }]),
  ),
  DEVICE_UPDATE_NOT_SUPPORTED: {
    title: 'Device firmware too old for this update',
    remedy: SET_ASIDE,
    transient: false,
  },
  DEVICE_UPDATE_MODULE_INVALID: {
    title: 'Device rejected the firmware that was written',
    remedy: 'Set the device aside and call an engineer: its Device OS may be too old for this firmware.',
    transient: false,
  },
  DEVICE_UPDATE_HASH_MISMATCH: {
    title: 'Device runs a different build than was written',
    remedy: 'Retry once; if it fails again, set the device aside.',
    transient: true,
  },
  DEVICE_UPDATE_UNVERIFIED: {
    title: 'Device did not say what it runs',
    remedy: 'Retry once; if it fails again, set the device aside.',
    transient: true,
  },
  SETUP_DONE_NOT_KEPT: {
    title: 'Device forgot its setup',
    remedy: 'Retry once; if it fails again, set the device aside: its configuration storage may be faulty.',
    transient: true,
  },

  // Device Protection: refused at identify, or Service Mode through the product's cloud.
  DEVICE_PROTECTED: {
    title: 'Device is protected',
    remedy: 'Set the device aside and call an engineer: this profile does not take protected devices.',
    transient: false,
  },
  SERVICE_MODE_PRODUCT_NOT_PROTECTED: {
    title: 'Cloud says the product has no Device Protection',
    remedy: 'Stop the batch and call an engineer to check the profile.',
    transient: false,
  },
  SERVICE_MODE_DEVICE_NOT_IN_PRODUCT: {
    title: 'Device belongs to another product',
    remedy: 'Set aside: only its own product can unlock it.',
    transient: false,
  },
  SERVICE_MODE_DEVICE_KEY_UNKNOWN: {
    title: 'Cloud does not know this device',
    remedy: SET_ASIDE,
    transient: false,
  },
  SERVICE_MODE_SIGNATURE_MISMATCH: {
    title: 'Device and cloud did not agree on unlocking',
    remedy: 'Retry once; if it fails again, set the device aside.',
    transient: true,
  },
  SERVICE_MODE_SERVER_KEY_MISMATCH: {
    title: 'Device trusts another Particle Cloud',
    remedy: 'Stop the batch and call an engineer to check the cloud address in the profile.',
    transient: false,
  },
  SERVICE_MODE_CLOUD_UNAVAILABLE: {
    title: 'Cloud unreachable: the device cannot be unlocked',
    remedy: 'Check the network, then retry.',
    transient: true,
  },
  SERVICE_MODE_CLOUD_REFUSED: {
    title: 'Cloud refused to unlock the device',
    remedy: 'Call an engineer: the access token may lack permission.',
    transient: false,
  },
  SERVICE_MODE_UNSUPPORTED: {
    title: 'Device OS cannot be unlocked over USB',
    remedy: SET_ASIDE,
    transient: false,
  },
  SERVICE_MODE_TIMEOUT: {
    title: 'Unlocking took too long',
    remedy: 'Check the network and the cable, then retry.',
    transient: true,
  },
  SERVICE_MODE_DEVICE_REFUSED: { title: 'Device refused to be unlocked', remedy: RESEAT, transient: true },
  SERVICE_MODE_NOT_ENTERED: { title: 'Device did not confirm the unlock', remedy: RESEAT, transient: true },
  SERVICE_MODE_NOT_LEFT: {
    title: 'Device did not lock again',
    remedy: 'Retry; if it fails again, set the device aside: it must not ship unlocked.',
    transient: true,
  },

  // Firmware on the station (an engineer's problem, never the device's).
  FIRMWARE_CHANGED: {
    title: 'Firmware file changed since the profile was locked',
    remedy: 'Stop the batch and call an engineer: the firmware on this station was modified.',
    transient: false,
  },
  FIRMWARE_MISSING: {
    title: 'Firmware file missing',
    remedy: 'Stop the batch and call an engineer.',
    transient: false,
  },

  // Registration.
  CLOUD_NETWORK: {
    title: 'Cloud unreachable',
    remedy: 'Nothing to do: the device is queued and will register later.',
    transient: true,
  },
  CLOUD_TIMEOUT: {
    title: 'Cloud too slow',
    remedy: 'Nothing to do: the device is queued and will register later.',
    transient: true,
  },
  CLOUD_SERVER_ERROR: {
    title: 'Cloud error',
    remedy: 'Retry; the device can also be queued.',
    transient: true,
  },
  CLOUD_RATE_LIMITED: { title: 'Cloud busy', remedy: 'Wait a moment and retry.', transient: true },
  CLOUD_UNAUTHORIZED: {
    title: 'Cloud token rejected',
    remedy: 'Call an engineer to renew the access token.',
    transient: false,
  },
  CLOUD_FORBIDDEN: {
    title: 'Cloud token lacks permission',
    remedy: 'Call an engineer to fix the access token.',
    transient: false,
  },
  CLOUD_NOT_FOUND: {
    title: 'Product not found in the cloud',
    remedy: 'Call an engineer to check the profile.',
    transient: false,
  },
  CLOUD_DEVICE_INVALID: { title: 'Cloud rejected the device ID', remedy: SET_ASIDE, transient: false },
  CLOUD_DEVICE_NONMEMBER: { title: 'Device belongs to another account', remedy: SET_ASIDE, transient: false },
  CLOUD_DEVICE_PROTECTED: { title: 'Device is protected in the cloud', remedy: SET_ASIDE, transient: false },
  // Shown on a PASS (registration 'sim-failed'): the device is good, its SIM is not active.
  CLOUD_SIM_REJECTED: {
    title: 'SIM not activated by the cloud',
    remedy: 'The device passed, but cannot connect yet: put it in the engineer’s tray with its SIM problem.',
    transient: false,
  },
  REGISTRATION_FAILED: {
    title: 'Registration failed',
    remedy: 'Retry; call an engineer if it repeats.',
    transient: true,
  },

  // The station itself.
  STORE_DISK_FULL: {
    title: 'Station disk full',
    remedy: 'Stop and call an engineer to free disk space.',
    transient: false,
  },
  STORE_READ_ONLY: {
    title: 'Station log is read-only',
    remedy: 'Stop and call an engineer.',
    transient: false,
  },
  STORE_WRITE_FAILED: {
    title: 'Station log cannot be written',
    remedy: 'Stop and call an engineer.',
    transient: false,
  },
  INTERRUPTED: { title: 'Station stopped mid-attempt', remedy: RESEAT, transient: true },
  ABORTED: { title: 'Stopped', remedy: RESEAT, transient: true },

  // Labels (core/labels): a printer's state, a template problem, a wrong label scanned back. They
  // are the label's failures, shown on a PASS; none of them makes a device FAIL.
  ...LABEL_ERRORS,
};

const FALLBACK: OperatorError = {
  title: 'Unexpected failure',
  remedy: 'Retry once; if it repeats, set the device aside and call an engineer.',
  transient: false,
};

/** Operator wording for a failure; unknown codes get a safe generic title (never a false "retry is fine"). */
export const operatorError = (code: string): OperatorError => OPERATOR_ERRORS[code] ?? FALLBACK;

/**
 * What the log keeps for a failure: the operator's title and remedy from the table, and the
 * source's engineer-facing message (with its own remedy appended, for whoever reads the export).
 */
export const describeFailure = (
  error: LsError,
): { code: string; message: string; remedy: string; title: string } => {
  const op = operatorError(error.code);
  const message = error.remedy ? `${error.message} (${error.remedy})` : error.message;
  return { code: error.code, message, remedy: op.remedy, title: op.title };
};
