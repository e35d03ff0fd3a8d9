import { describe, expect, it } from 'vitest';
import {
  isTransientUpdateError,
  type UpdateStep,
  updateResultError,
} from '../../core/particle/update-errors';

// Every Device OS result a firmware-update request can answer gets a named error, with an
// operator's sentence and a remedy, and the retry policy follows the name.

const cases: [UpdateStep, number, string, boolean][] = [
  // step, result, code, worth a retry from START
  ['finish', -1330, 'DEVICE_UPDATE_REJECTED_INTEGRITY', false],
  ['finish', -1331, 'DEVICE_UPDATE_REJECTED_INTEGRITY', false],
  ['finish', -1340, 'DEVICE_UPDATE_REJECTED_DEPENDENCY', false],
  ['finish', -1350, 'DEVICE_UPDATE_REJECTED_ADDRESS', false],
  ['finish', -1351, 'DEVICE_UPDATE_REJECTED_SIZE', false],
  ['start', -1351, 'DEVICE_UPDATE_REJECTED_SIZE', false],
  ['finish', -1360, 'DEVICE_UPDATE_REJECTED_PLATFORM', false],
  ['finish', -1370, 'DEVICE_UPDATE_REJECTED_FORMAT', false],
  ['finish', -1310, 'DEVICE_UPDATE_REJECTED_UNSUPPORTED', false],
  ['finish', -1300, 'DEVICE_UPDATE_REJECTED', false],
  ['finish', -1320, 'DEVICE_UPDATE_REJECTED', false],
  ['finish', -1390, 'DEVICE_UPDATE_REJECTED', false],
  ['start', -1380, 'DEVICE_UPDATES_DISABLED', false],
  ['start', -1801, 'DEVICE_PROTECTED', false],
  ['finish', -1801, 'DEVICE_PROTECTED', false],
  ['start', -210, 'DEVICE_BUSY_UPDATING', true],
  ['start', -120, 'DEVICE_UPDATE_NOT_SUPPORTED', false],
  ['start', -260, 'DEVICE_UPDATE_START_FAILED', true],
  ['start', -219, 'DEVICE_UPDATE_START_FAILED', true],
  ['start', -110, 'PARTICLE_REQUEST_BUSY', true],
  ['data', -290, 'DEVICE_UPDATE_DATA_REJECTED', true],
  ['data', -210, 'DEVICE_UPDATE_DATA_REJECTED', true],
  ['data', -220, 'DEVICE_UPDATE_DATA_REJECTED', true],
  ['finish', -210, 'DEVICE_UPDATE_INCOMPLETE', true],
  ['finish', -220, 'DEVICE_UPDATE_FINISH_FAILED', true],
  ['cancel', -100, 'PARTICLE_REQUEST_FAILED', false],
];

describe('updateResultError', () => {
  it.each(cases)('%s answered %i → %s', (step, result, code, transient) => {
    const e = updateResultError(step, result, { size: 4096, offset: 1024 });
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^[A-Z].*\.$/);
    if (code !== 'PARTICLE_REQUEST_FAILED') expect(e.remedy).toBeTruthy();
    expect(e.details).toMatchObject({ step, result });
    expect(isTransientUpdateError(e)).toBe(transient);
  });

  it('tells a compressed-image refusal from a Device OS without the feature', () => {
    expect(updateResultError('start', -120, { format: 'miniz' }).code).toBe(
      'DEVICE_UPDATE_COMPRESSED_REFUSED',
    );
    expect(updateResultError('start', -120, { format: 'bin' }).code).toBe('DEVICE_UPDATE_NOT_SUPPORTED');
  });

  it('says where the data was refused and how big the image was', () => {
    expect(updateResultError('data', -290, { offset: 3072 }).message).toContain('byte 3072');
    expect(updateResultError('start', -1351, { size: 9_999_999 }).message).toContain('9999999-byte');
    expect(updateResultError('data', -290, { offset: 3072 }).details).toMatchObject({
      resultName: 'OUT_OF_RANGE',
    });
  });
});

describe('isTransientUpdateError', () => {
  it('retries USB glitches and a busy device, never a missing device OS feature or an old one', () => {
    for (const code of ['USB_TIMEOUT', 'USB_DISCONNECTED', 'USB_IO', 'PARTICLE_REQUEST_TIMEOUT'])
      expect(isTransientUpdateError({ code, message: '' })).toBe(true);
    for (const code of [
      'PARTICLE_NO_ANSWER',
      'USB_ACCESS_DENIED',
      'USB_BUSY',
      'ABORTED',
      'DEVICE_UPDATE_TIMEOUT',
    ])
      expect(isTransientUpdateError({ code, message: '' })).toBe(false);
  });
});
