import { describe, expect, it } from 'vitest';
import { parseIdentification } from '../../core/particle/listening-serial';
import { platformByName } from '../../core/platforms';
import { IDENTITY_ERROR, makeSerialNumber, resolveIdentity, SERVICE_STATUS } from '../../core/sim';
import { listeningAnswer } from '../../core/sim/serial-listening';
import { call, decode } from './control';
import { fastDevice } from './helpers';

const SERIAL = 21;
const SYSTEM_VERSION = 30;
const ICCID = 554;

const platform = (name: string) => {
  const p = platformByName(name);
  if (!p) throw new Error(name);
  return p;
};

describe('GET_SERIAL_NUMBER (21)', () => {
  it('answers the sticker serial, 15 characters, the same for the same seed', async () => {
    const d = fastDevice('argon', { seed: 'line-7' });
    const r = await call(d, SERIAL);
    expect(r.result).toBe(0);
    const serial = decode('GetSerialNumberReply', r.data).serial;
    expect(serial).toBe(makeSerialNumber(d.deviceId, d.platform));
    expect(serial).toMatch(/^S012LS\d{3}[0-9A-F]{6}$/);
    expect(
      decode('GetSerialNumberReply', (await call(fastDevice('argon', { seed: 'line-7' }), SERIAL)).data),
    ).toEqual({ serial });
    expect(
      decode('GetSerialNumberReply', (await call(fastDevice('argon', { seed: 'line-8' }), SERIAL)).data),
    ).not.toEqual({ serial });
  });

  it('answers a serial given at construction, on Gen 2 too', async () => {
    const d = fastDevice('electron', {
      identity: { serialNumber: 'E40KAB123ABCDEF' },
      deviceOs: { version: '2.3.1' },
    });
    expect(decode('GetSerialNumberReply', (await call(d, SERIAL)).data).serial).toBe('E40KAB123ABCDEF');
  });

  it('fails as the HAL does when the serial is blank or unreadable: -1 (OTP), -250 on RTL872x', async () => {
    expect((await call(fastDevice('boron', { identity: { serialNumber: null } }), SERIAL)).result).toBe(
      IDENTITY_ERROR.SERIAL_OTP_UNREADABLE,
    );
    expect((await call(fastDevice('boron', { faults: { serialUnreadable: true } }), SERIAL)).result).toBe(-1);
    expect((await call(fastDevice('p2', { faults: { serialUnreadable: true } }), SERIAL)).result).toBe(-250);
  });

  it('a protected device refuses it (-1801), like every request but a few', async () => {
    const d = fastDevice('boron', { protection: 'protected' });
    expect((await call(d, SERIAL)).result).toBe(-1801);
    expect((await call(d, ICCID)).result).toBe(-1801);
  });
});

describe('GET_SYSTEM_VERSION (30) as a service request', () => {
  it('answers GetSystemVersionReply with the Device OS version', async () => {
    const d = fastDevice('boron', { deviceOs: { version: '5.9.0', systemModuleVersion: 5900 } });
    const r = await call(d, SYSTEM_VERSION);
    expect(r.result).toBe(0);
    expect(decode('GetSystemVersionReply', r.data).version).toBe('5.9.0');
  });
});

describe('CELLULAR_GET_ICCID (554)', () => {
  it.each(['boron', 'bsom', 'tracker', 'msom', 'trackerm', 'electron2'])(
    '%s answers the ICCID and IMEI it was made with',
    async (name) => {
      const d = fastDevice(name);
      const r = await call(d, ICCID);
      expect(r.result).toBe(0);
      const reply = decode('cellular.GetIccidReply', r.data);
      expect(reply).toEqual({ iccid: d.identity.cellular?.iccid, imei: d.identity.cellular?.imei });
      expect(reply.iccid).toMatch(/^8988\d{16}$/);
      expect(reply.imei).toMatch(/^\d{15}$/);
    },
  );

  it('the Electron (Gen 2, no NCP) and Wi-Fi devices answer -120', async () => {
    for (const name of ['electron', 'argon', 'p2', 'photon']) {
      const r = await call(fastDevice(name, { deviceOs: { version: '2.3.1' } }), ICCID);
      expect(r.status).toBe(SERVICE_STATUS.OK);
      expect(r.result, name).toBe(-120);
    }
  });

  it('the first request after a boot powers the modem up; the next one does not', async () => {
    const d = fastDevice('boron');
    const before = d.stats.inherentMs;
    await call(d, ICCID);
    const first = d.stats.inherentMs - before;
    await call(d, ICCID);
    const second = d.stats.inherentMs - before - first;
    expect(first - second).toBe(d.timing.modemOnMs);
  });

  it('no SIM: -1200 (AT+CCID fails); a modem that never comes up: -160', async () => {
    expect((await call(fastDevice('boron', { faults: { iccidUnreadable: 'no-sim' } }), ICCID)).result).toBe(
      IDENTITY_ERROR.AT_NOT_OK,
    );
    expect(
      (await call(fastDevice('boron', { faults: { iccidUnreadable: 'modem-off' } }), ICCID)).result,
    ).toBe(IDENTITY_ERROR.TIMEOUT);
  });

  it('takes given IMEI and ICCID', async () => {
    const d = fastDevice('boron', { identity: { imei: '352753090000001', iccid: '8934076500002345678' } });
    expect(decode('cellular.GetIccidReply', (await call(d, ICCID)).data)).toEqual({
      iccid: '8934076500002345678',
      imei: '352753090000001',
    });
  });
});

describe('listening-mode `i` as Device OS 6.2 prints it', () => {
  it('a cellular device lists device ID, secret, serial, IMEI, ICCID and radio firmware', () => {
    const d = fastDevice('boron');
    const text = listeningAnswer(d.listeningProfile(), 'i') ?? '';
    const id = d.identity;
    expect(text).toBe(
      `Device ID: ${d.deviceId}\r\nDevice Secret: ${id.deviceSecret}\r\nSerial Number: ${id.serialNumber}\r\n` +
        `IMEI: ${id.cellular?.imei}\r\nICCID: ${id.cellular?.iccid}\r\nCell Radio Version: ${id.cellular?.radioFirmware}\r\n`,
    );
    expect(parseIdentification(text, true)?.value).toMatchObject({
      ok: true,
      value: { deviceId: d.deviceId, imei: id.cellular?.imei, iccid: id.cellular?.iccid },
    });
  });

  it('an unreadable modem prints blank IMEI/ICCID lines; an unreadable serial is left out', () => {
    const d = fastDevice('boron', { faults: { iccidUnreadable: 'no-sim', serialUnreadable: true } });
    const text = listeningAnswer(d.listeningProfile(), 'i') ?? '';
    expect(text).toContain('IMEI: \r\nICCID: \r\nCell Radio Version: \r\n');
    expect(text).not.toContain('Serial Number');
  });

  it('a Wi-Fi device lists secret and serial only; a device with no properties says "Your device id is"', () => {
    const d = fastDevice('argon');
    const text = listeningAnswer(d.listeningProfile(), 'i') ?? '';
    expect(text).toContain('Serial Number: ');
    expect(text).not.toContain('IMEI');
    expect(
      listeningAnswer(
        { deviceId: d.deviceId, platformId: 12, systemVersion: '6.2.1', idFormat: 'device-os' },
        'i',
      ),
    ).toBe(`Your device id is ${d.deviceId}\r\n`);
  });

  it('resolveIdentity derives everything from the device ID', () => {
    const a = resolveIdentity('0123456789abcdef01234567', platform('boron'));
    expect(a).toEqual(resolveIdentity('0123456789abcdef01234567', platform('boron')));
    expect(a.serialNumber).toHaveLength(15);
    expect(resolveIdentity('0123456789abcdef01234567', platform('argon')).cellular).toBeUndefined();
  });
});
