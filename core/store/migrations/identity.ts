import type { Migration } from './types';

/**
 * What identify reads besides the device ID (core/particle/identity.ts): the sticker serial
 * number, the SIM's ICCID and the modem's IMEI on cellular platforms, and the Device OS version
 * the device reported. NULL where the device could not tell (the reason is an event of the
 * attempt), and on attempts logged before this step.
 */
export const stationLogV5Identity: Migration = {
  name: 'station-log-v5-identity',
  up(db) {
    db.exec(`
      ALTER TABLE attempts ADD COLUMN serial_number TEXT;
      ALTER TABLE attempts ADD COLUMN iccid TEXT;
      ALTER TABLE attempts ADD COLUMN imei TEXT;
      ALTER TABLE attempts ADD COLUMN device_os TEXT;
    `);
  },
};
