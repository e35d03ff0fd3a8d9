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
