import { describe, expect, it } from 'vitest';
import { describeFailure, OPERATOR_ERRORS, operatorError } from '../../core/station/operator-errors';

describe('operator error table', () => {
  it('gives every code a title and a remedy an operator can act on', () => {
    for (const [code, e] of Object.entries(OPERATOR_ERRORS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(e.title.length).toBeGreaterThan(3);
      expect(e.remedy).toMatch(/\.$/);
    }
  });

  it('never marks the wrong device or a station failure as worth a retry', () => {
    for (const code of [
      'WRONG_PLATFORM',
      'WRONG_PRODUCT',
      'FIRMWARE_CHANGED',
      'STORE_DISK_FULL',
      'CLOUD_DEVICE_INVALID',
    ])
      expect(operatorError(code).transient).toBe(false);
    expect(operatorError('USB_DISCONNECTED').transient).toBe(true);
  });

  it('names the failures of a whole-set install (normal-mode updates, setup done, Device Protection)', () => {
    for (const code of [
      'DEVICE_UPDATE_NOT_APPLIED',
      'DEVICE_UPDATE_REJECTED_INTEGRITY',
      'DEVICE_UPDATE_REJECTED_DEPENDENCY',
      'DEVICE_UPDATE_REJECTED_FORMAT',
      'DEVICE_UPDATES_DISABLED',
      'DEVICE_UPDATE_HASH_MISMATCH',
      'SETUP_DONE_NOT_KEPT',
      'DEVICE_PROTECTED',
      'SERVICE_MODE_DEVICE_NOT_IN_PRODUCT',
      'SERVICE_MODE_CLOUD_UNAVAILABLE',
      'SERVICE_MODE_NOT_LEFT',
      'MODULE_HASH_MISMATCH',
    ])
      expect(operatorError(code).title).not.toBe('Unexpected failure');
    // A protected device on a profile without Device Protection is the wrong device, not a bad contact.
    expect(operatorError('DEVICE_PROTECTED').transient).toBe(false);
    expect(operatorError('DEVICE_UPDATE_REJECTED_PLATFORM').transient).toBe(false);
  });

  it('speaks for the labels too: printer states, template problems and a wrong label', () => {
    expect(operatorError('LABEL_PRINTER_PAPER_OUT')).toMatchObject({
      title: 'Label printer out of labels',
      transient: true,
    });
    expect(operatorError('LABEL_PRINTER_HEAD_OPEN').remedy).toBe(
      'Close the print head; the queued labels then print.',
    );
    expect(operatorError('LABEL_MISMATCH')).toMatchObject({ title: 'Wrong label', transient: false });
    expect(operatorError('LABEL_FIELD_MISSING').transient).toBe(false);
  });

  it('is cautious about codes it does not know', () => {
    expect(operatorError('SOMETHING_NEW')).toMatchObject({ title: 'Unexpected failure', transient: false });
  });

  it('keeps the source message and remedy for the engineer, the table remedy for the operator', () => {
    expect(describeFailure({ code: 'WRONG_PLATFORM', message: 'An argon.', remedy: 'Use a boron.' })).toEqual(
      {
        code: 'WRONG_PLATFORM',
        title: 'Wrong device type',
        message: 'An argon. (Use a boron.)',
        remedy: 'Set aside: wrong platform for this product.',
      },
    );
  });
});
