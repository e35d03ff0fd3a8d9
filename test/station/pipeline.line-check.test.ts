import { describe, expect, it } from 'vitest';
import {
  type LineCheck,
  type LineCheckResult,
  type PipelineEvent,
  runAttempt,
  type SlotDriver,
} from '../../core/station/pipeline';
import type { UsbDeviceInfo } from '../../core/usb/transport';
import { newBatch, openLog } from '../store/helpers';
import { deviceId, stepDriver } from './fakes';

/*
 * The pipeline's side of the line-database check (core/line-db implements it; its own tests use
 * a real PostgreSQL): asked after identify and before any write to the device, recorded with the
 * identity in one commit, and obeyed: a claim held elsewhere fails the attempt, a PASS elsewhere
 * in the lot skips it, a registration elsewhere sends no second import, the claim is released.
 */

const device: UsbDeviceInfo = {
  key: 'k1',
  portPath: '1-1',
  vendorId: 0x2b04,
  productId: 0xc00d,
  serialNumber: deviceId(1),
};

const driver = (calls: string[]): SlotDriver =>
  stepDriver({
    identify: async () => ({ deviceId: deviceId(1), platformId: 13, mode: 'normal', portPath: '1-1' }),
    ensureDfu: async () => {
      calls.push('ensure-dfu');
    },
    flash: async () => undefined,
    leave: async () => undefined,
    confirm: async () => ({ deviceId: deviceId(1) }),
    register: async () => {
      calls.push('register');
      return { state: 'registered' };
    },
  });

const attempt = async (result: Partial<LineCheckResult>, reflash = false) => {
  const { log } = openLog();
  const batch = log.createBatch(newBatch({ lot: 'LOT-L' }));
  const calls: string[] = [];
  const events: PipelineEvent[] = [];
  const asked: Parameters<LineCheck>[] = [];
  const rec = await runAttempt({
    log,
    batch,
    driver: driver(calls),
    slot: 1,
    device,
    platformId: 13,
    reflashAlreadyProvisioned: reflash,
    signal: new AbortController().signal,
    emit: (e) => events.push(e),
    lineCheck: async (...args) => {
      asked.push(args);
      return {
        check: 'ok',
        ...result,
        release: () => {
          calls.push('release');
        },
      };
    },
  });
  const identified = events.find((e) => e.type === 'identified');
  const finished = events.find((e) => e.type === 'attempt-finished');
  log.close();
  return { rec, calls, asked, identified, finished };
};

describe('the line check at identify', () => {
  it('is asked with the device, lot and product, and recorded with the identity before the event', async () => {
    const { rec, calls, asked, identified } = await attempt({ check: 'ok; failed 2× elsewhere: …' });
    expect(asked[0]?.[0]).toBe(deviceId(1));
    expect(asked[0]?.[1]).toMatchObject({ lot: 'LOT-L', productId: '12345', attemptId: rec.id });
    expect(identified?.type === 'identified' && identified.attempt.lineCheck).toBe(
      'ok; failed 2× elsewhere: …',
    );
    expect(rec).toMatchObject({ result: 'pass', lineCheck: 'ok; failed 2× elsewhere: …' });
    expect(calls).toEqual(['ensure-dfu', 'register', 'release']);
  });

  it('fails the attempt with the claim conflict, before anything is written to the device', async () => {
    const { rec, calls } = await attempt({
      check: 'duplicate: held by B-3',
      conflict: { code: 'DUPLICATE_DEVICE_ID', message: 'Device ID … is being provisioned at station B-3.' },
    });
    expect(rec).toMatchObject({ result: 'fail', errorCode: 'DUPLICATE_DEVICE_ID', step: 'identify' });
    expect(calls).toEqual(['release']);
  });

  it('skips a device that passed at another station in this lot, naming it', async () => {
    const { rec, calls, finished } = await attempt({
      check: 'passed at B-3',
      passedElsewhere: {
        station: 'B-3',
        at: '2026-01-01T10:41:00.000Z',
        title: 'Already provisioned at station B-3 at 10:41',
      },
    });
    expect(rec).toMatchObject({ result: 'skipped', alreadyProvisioned: true });
    expect(finished?.type === 'attempt-finished' && finished.title).toBe(
      'Already provisioned at station B-3 at 10:41',
    );
    expect(calls).toEqual(['release']);
  });

  it('re-flashes it anyway where the profile says so', async () => {
    const { rec } = await attempt(
      {
        check: 'passed at B-3',
        passedElsewhere: { station: 'B-3', at: '', title: 'Already provisioned at B-3' },
      },
      true,
    );
    expect(rec.result).toBe('pass');
  });

  it('sends no second import for a device another station registered', async () => {
    const { rec, calls } = await attempt({
      check: 'ok; registered already by B-3',
      registeredElsewhere: true,
    });
    expect(rec).toMatchObject({ result: 'pass', registrationState: 'registered' });
    expect(calls).not.toContain('register');
  });
});
