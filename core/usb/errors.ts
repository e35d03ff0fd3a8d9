import { type LsError, LsFailure } from '../errors/result';
import type { UsbErrorCode } from './transport';

/*
 * One place for the words a transport uses, so the real adapter, the simulator and the engine all
 * tell an operator the same thing for the same failure.
 */

const README_UDEV = 'See "Linux USB access (udev rules)" in the README.';

const TEXT: Record<UsbErrorCode, { message: string; remedy?: string }> = {
  USB_UNAVAILABLE: {
    message: 'No USB bus available on this machine.',
    remedy: 'Run the station on a machine with USB (a container or VM needs the USB bus passed through).',
  },
  USB_ACCESS_DENIED: {
    message: 'The operating system denied access to the USB device.',
    remedy: `Install the udev rules that grant access to Particle devices (VID 2b04), then replug. ${README_UDEV}`,
  },
  USB_BUSY: {
    message: 'The USB device is in use by another program.',
    remedy:
      'Close other tools (particle-cli, dfu-util, a serial monitor, ModemManager) that hold the device.',
  },
  USB_NOT_FOUND: {
    message: 'The USB device is no longer attached.',
    remedy: 'Check the cable and the port, then try again.',
  },
  USB_STALL: { message: 'The device refused (STALLed) a USB request.' },
  USB_TIMEOUT: {
    message: 'A USB transfer timed out.',
    remedy: 'Check the cable; a device that keeps timing out may need a power cycle.',
  },
  USB_DISCONNECTED: {
    message: 'The device disconnected during the operation.',
    remedy: 'Check the cable and the port, then retry.',
  },
  USB_IO: { message: 'A USB transfer failed.', remedy: 'Check the cable and the port, then retry.' },
};

export const usbError = (
  code: UsbErrorCode,
  detail?: string,
  details?: Record<string, unknown>,
): LsError<UsbErrorCode> => {
  const text = TEXT[code];
  return {
    code,
    message: detail ? `${text.message} (${detail})` : text.message,
    ...(text.remedy ? { remedy: text.remedy } : {}),
    ...(details ? { details } : {}),
  };
};

export const usbFailure = (
  code: UsbErrorCode,
  detail?: string,
  details?: Record<string, unknown>,
): LsFailure<UsbErrorCode> => new LsFailure(usbError(code, detail, details));

const USB_CODES = new Set<string>(Object.keys(TEXT));

export const isUsbErrorCode = (code: string): code is UsbErrorCode => USB_CODES.has(code);

/** The code of an LsFailure a transport raised, if it is one. */
export const usbCodeOf = (e: unknown): UsbErrorCode | undefined =>
  e instanceof LsFailure && isUsbErrorCode(e.error.code) ? e.error.code : undefined;

/**
 * Maps what libusb/nusb/the OS says to our codes. The native layer reports errno text
 * ("Permission denied", "Resource busy", "No such device", "Pipe error", "timed out"), and on
 * some paths libusb names ("LIBUSB_ERROR_ACCESS"); we recognise both.
 */
export const classifyNativeUsbError = (e: unknown): UsbErrorCode => {
  const text = (e instanceof Error ? `${e.name} ${e.message}` : String(e)).toLowerCase();
  if (/access|permission denied|eacces|eperm|not ?allowed|securityerror/.test(text))
    return 'USB_ACCESS_DENIED';
  if (/busy|ebusy|already claimed|in use/.test(text)) return 'USB_BUSY';
  if (/stall|pipe|epipe/.test(text)) return 'USB_STALL';
  // nusb (under usb@3) ends a timed-out transfer by cancelling it: "Cancelled" means our timeout.
  if (/timed? ?out|etimedout|timeout|cancel/.test(text)) return 'USB_TIMEOUT';
  if (/no such device|enodev|disconnected|not found|enoent|notfounderror/.test(text))
    return 'USB_DISCONNECTED';
  return 'USB_IO';
};
