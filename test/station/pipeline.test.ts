import { describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import { type PipelineEvent, runAttempt, type SlotDriver } from '../../core/station/pipeline';
import type { UsbDeviceInfo } from '../../core/usb/transport';
import { newBatch, openLog } from '../store/helpers';
import { deviceId, type StepParts, stepDriver } from './fakes';

const device: UsbDeviceInfo = {
  key: 'k1',
  portPath: '1-1',
  vendorId: 0x2b04,
  productId: 0xc00d,
  serialNumber: deviceId(1),
};

const okDriver = (over: Partial<StepParts> = {}): SlotDriver =>
  stepDriver({
    identify: async () => ({ deviceId: deviceId(1), platformId: 13, mode: 'normal', portPath: '1-1' }),
    ensureDfu: async () => undefined,
    flash: async () => undefined,
    leave: async () => undefined,
    confirm: async () => ({ deviceId: deviceId(1) }),
    register: async () => ({ state: 'registered' }),
    ...over,
  });

const setup = () => {
  const { log } = openLog();
  const batch = log.createBatch(newBatch());
  const events: PipelineEvent[] = [];
  return { log, batch, events };
};

describe('runAttempt', () => {
  it('commits each change before telling: every event finds its state already in the log', async () => {
    const { log, batch } = setup();
    const seen: string[] = [];
    await runAttempt({
      log,
      batch,
      driver: okDriver(),
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      signal: new AbortController().signal,
      emit: (e) => {
        if (e.type === 'attempt-started') seen.push(`started:${log.requireAttempt(e.attempt.id).result}`);
        if (e.type === 'step') seen.push(`step:${log.requireAttempt(e.attemptId).step}`);
        if (e.type === 'attempt-finished') seen.push(`finished:${log.requireAttempt(e.attempt.id).result}`);
      },
    });
    expect(seen).toEqual([
      'started:running',
      'step:identify',
      'step:ensure-dfu',
      'step:flash',
      'step:leave',
      'step:confirm',
      'step:register',
      'finished:pass',
    ]);
  });

  it('abandons a step that ignores its signal at the timeout', async () => {
    const { log, batch } = setup();
    const rec = await runAttempt({
      log,
      batch,
      driver: okDriver({ leave: () => new Promise(() => undefined) }),
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      timeoutsMs: { leave: 50 },
      signal: new AbortController().signal,
      emit: () => undefined,
    });
    expect(rec).toMatchObject({ result: 'fail', step: 'leave', errorCode: 'STEP_TIMEOUT' });
  });

  it('hands each step an AbortSignal that fires on station stop, and logs the attempt as interrupted', async () => {
    const { log, batch } = setup();
    const stop = new AbortController();
    let stepSignal: AbortSignal | undefined;
    const running = runAttempt({
      log,
      batch,
      driver: okDriver({
        flash: (_id, ctx) =>
          new Promise((_, reject) => {
            stepSignal = ctx.signal;
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          }),
      }),
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      signal: stop.signal,
      emit: (e) => {
        if (e.type === 'step' && e.step === 'flash') setTimeout(() => stop.abort(), 5);
      },
    });
    const rec = await running;
    expect(stepSignal?.aborted).toBe(true);
    expect(rec).toMatchObject({ result: 'interrupted', step: 'flash', errorCode: 'INTERRUPTED' });
  });

  it('throttles progress by its clock and always reports the end', async () => {
    const { log, batch, events } = setup();
    let now = 0;
    await runAttempt({
      log,
      batch,
      driver: okDriver({
        flash: async (_id, ctx) => {
          for (let i = 0; i <= 10; i++) {
            now += 100; // 10 Hz of updates
            ctx.onProgress({
              bytesDone: i * 10,
              bytesTotal: 100,
              bytesPerSecond: 1000,
              etaMs: (10 - i) * 100,
            });
          }
        },
      }),
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      signal: new AbortController().signal,
      clock: () => now,
      emit: (e) => events.push(e),
    });
    const pct = events.flatMap((e) => (e.type === 'progress' ? [e.percent] : []));
    expect(pct).toEqual([0, 30, 60, 90, 100]);
  });

  it('tells a new module or phase at once, and a part without bytes has no percentage', async () => {
    const { log, batch, events } = setup();
    const now = 0; // a frozen clock: only a change of phase gets through the throttle
    await runAttempt({
      log,
      batch,
      driver: okDriver({
        flash: async (_id, ctx) => {
          ctx.onProgress({
            phase: 'a.bin (DFU): download',
            module: 'a.bin',
            path: 'dfu',
            bytesDone: 0,
            bytesTotal: 10,
          });
          ctx.onProgress({
            phase: 'a.bin (DFU): download',
            module: 'a.bin',
            path: 'dfu',
            bytesDone: 5,
            bytesTotal: 10,
          });
          ctx.onProgress({
            phase: 'ncp.bin (normal mode): applying',
            module: 'ncp.bin',
            path: 'normal',
            bytesDone: 0,
            bytesTotal: 0,
            expectedMs: 120_000,
          });
          return undefined;
        },
      }),
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      signal: new AbortController().signal,
      clock: () => now,
      emit: (e) => events.push(e),
    });
    const told = events.flatMap((e) => (e.type === 'progress' ? [`${e.module}:${e.path}:${e.percent}`] : []));
    expect(told).toEqual(['a.bin:dfu:0', 'ncp.bin:normal:undefined']);
  });

  it('never passes when confirm reports another device, and carries the operator remedy', async () => {
    const { log, batch } = setup();
    const rec = await runAttempt({
      log,
      batch,
      driver: okDriver({ confirm: async () => ({ deviceId: deviceId(2) }) }),
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      signal: new AbortController().signal,
      emit: () => undefined,
    });
    expect(rec).toMatchObject({ result: 'fail', step: 'confirm', errorCode: 'DEVICE_ID_CHANGED' });
    expect(rec.errorRemedy).toMatch(/one device per slot/);
    expect(rec.registrationState).toBe('not-attempted');
  });

  it('fails with the driver code and message, keeping the engineer remedy in the message', async () => {
    const { log, batch } = setup();
    const rec = await runAttempt({
      log,
      batch,
      driver: okDriver({
        flash: async () => {
          throw new LsFailure({
            code: 'DFU_VERIFY_MISMATCH',
            message: 'Byte 0x10 differs.',
            remedy: 'Check the flash.',
          });
        },
      }),
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      signal: new AbortController().signal,
      emit: () => undefined,
    });
    expect(rec.errorMessage).toBe('Byte 0x10 differs. (Check the flash.)');
    expect(rec.errorRemedy).toMatch(/set the device aside/);
  });
});

describe('runAttempt with a whole Device OS set', () => {
  const run = async (mode: 'normal' | 'dfu') => {
    // The order across paths is core/install's (tested on the simulator); here: what the log keeps.
    const { log, batch } = setup();
    const order: string[] = [];
    const driver = okDriver({
      identify: async () => ({ deviceId: deviceId(1), platformId: 13, mode, portPath: '1-1' }),
      normalUpdate: async () => {
        order.push('normal-update');
        return [{ name: 'bootloader.bin', path: 'normal', outcome: 'written', ms: 40 }];
      },
      ensureDfu: async () => {
        order.push('ensure-dfu');
      },
      flash: async () => {
        order.push('flash');
        return [
          { name: 'softdevice.bin', path: 'dfu', outcome: 'current', ms: 0 },
          { name: 'user.bin', path: 'dfu', outcome: 'written', ms: 12 },
        ];
      },
      confirm: async () => {
        order.push('confirm');
        return { deviceId: deviceId(1) };
      },
      setupDone: async () => {
        order.push('setup-done');
        return 'set';
      },
    });
    const rec = await runAttempt({
      log,
      batch,
      driver,
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      signal: new AbortController().signal,
      emit: () => undefined,
    });
    return { rec: log.requireAttempt(rec.id), order };
  };

  it('writes normal-mode modules first, then DFU, then marks the device set up; the log keeps each module', async () => {
    const { rec, order } = await run('normal');
    expect(rec.result).toBe('pass');
    expect(order).toEqual(['normal-update', 'ensure-dfu', 'flash', 'confirm', 'setup-done']);
    expect(rec.moduleSteps.map((m) => `${m.name}@${m.path}:${m.outcome}`)).toEqual([
      'bootloader.bin@normal:written',
      'softdevice.bin@dfu:current',
      'user.bin@dfu:written',
    ]);
    expect(rec.setupDone).toBe('set');
    expect(rec.stepMs['normal-update']).toBeTypeOf('number');
    expect(rec.stepMs['setup-done']).toBeTypeOf('number');
  });
});

describe('registration outcomes', () => {
  const runWith = async (register: StepParts['register']) => {
    const { log, batch } = setup();
    const events: PipelineEvent[] = [];
    const rec = await runAttempt({
      log,
      batch,
      driver: okDriver({
        identify: async () => ({
          deviceId: deviceId(1),
          platformId: 13,
          mode: 'normal',
          portPath: '1-1',
          serialNumber: 'S013LS612ABCDEF',
        }),
        register,
      }),
      slot: 1,
      device,
      platformId: 13,
      reflashAlreadyProvisioned: false,
      signal: new AbortController().signal,
      emit: (e) => events.push(e),
    });
    return { log, batch, rec, events };
  };

  it('a refused SIM is still a PASS: registration sim-failed, the cloud’s reason in an event and on the finish', async () => {
    const { log, batch, rec, events } = await runWith(async () => ({
      state: 'sim-failed',
      code: 'CLOUD_SIM_REJECTED',
      message: 'SIM 8988… cannot be imported: owned by another account.',
    }));
    expect(rec).toMatchObject({ result: 'pass', registrationState: 'sim-failed', errorCode: null });
    const finished = events.find((e) => e.type === 'attempt-finished');
    expect(finished?.type === 'attempt-finished' && finished.simProblem).toEqual({
      code: 'CLOUD_SIM_REJECTED',
      message: 'SIM 8988… cannot be imported: owned by another account.',
    });
    const logged = log.events(batch.id).find((e) => e.type === 'sim-failed');
    expect(logged).toMatchObject({ attemptId: rec.id, data: { code: 'CLOUD_SIM_REJECTED' } });
  });

  it('logs the parts of the cloud setup a device could not fill (a name template without its serial)', async () => {
    const { log, batch, rec } = await runWith(async () => ({
      state: 'queued',
      skipped: [{ field: 'name', code: 'CLOUD_SETUP_FIELD_MISSING', reason: 'The template needs serial.' }],
    }));
    expect(rec).toMatchObject({
      result: 'pass',
      registrationState: 'queued',
      serialNumber: 'S013LS612ABCDEF',
    });
    expect(log.events(batch.id).find((e) => e.type === 'registration-setup-skipped')?.data).toEqual({
      skipped: [{ field: 'name', code: 'CLOUD_SETUP_FIELD_MISSING', reason: 'The template needs serial.' }],
    });
  });
});
