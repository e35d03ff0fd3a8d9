import { describe, expect, it } from 'vitest';
import { deviceId } from './fakes';
import { finished, harness } from './harness';

describe('Station', () => {
  it('auto-starts on plug-in and passes after flash, confirm and register', async () => {
    const h = await harness();
    h.bus.plug('1-1', deviceId(1));
    const e = await h.next((x) => finished(x, 1));
    expect(e.type === 'attempt-finished' && e.attempt.result).toBe('pass');
    const [a] = h.log.attempts(h.batch.id);
    expect(a?.deviceId).toBe(deviceId(1));
    expect(a?.registrationState).toBe('registered');
    expect(Object.keys(a?.stepMs ?? {})).toEqual([
      'identify',
      'ensure-dfu',
      'flash',
      'leave',
      'confirm',
      'register',
    ]);
    expect(h.driver.calls.filter((c) => c.endsWith(':flash'))).toHaveLength(1);
    // Committed before told: every event's attempt is already in the log as reported.
    expect(h.log.requireAttempt(a?.id ?? 0).result).toBe('pass');
    await h.station.stop();
  });

  it('shows a PASS whose SIM the cloud refused as PASS with a warning in operator words', async () => {
    const h = await harness();
    h.driver.behaviour.set(deviceId(1), { registration: 'sim-failed' });
    h.bus.plug('1-1', deviceId(1));
    h.bus.plug('1-2', deviceId(2));
    await Promise.all([1, 2].map((s) => h.next((x) => finished(x, s))));
    const [refused, good] = h.station.views();
    expect(refused).toMatchObject({
      state: 'passed',
      warning: {
        code: 'CLOUD_SIM_REJECTED',
        title: 'SIM not activated by the cloud',
        message: 'SIM 8988… cannot be imported: another account.',
      },
    });
    expect(good?.warning).toBeUndefined();
    expect(
      h.log
        .attempts(h.batch.id)
        .map((a) => a.registrationState)
        .sort(),
    ).toEqual(['registered', 'sim-failed']);
    await h.station.stop();
  });

  it('runs slots in parallel, and one hung slot does not hold up another', async () => {
    const h = await harness({ timeoutsMs: { flash: 300 } });
    h.driver.behaviour.set(deviceId(1), { hangAt: 'flash' });
    h.bus.plug('1-1', deviceId(1));
    h.bus.plug('1-2', deviceId(2));
    h.bus.plug('1-3', deviceId(3));
    const results = await Promise.all([1, 2, 3].map((s) => h.next((x) => finished(x, s))));
    const bySlot = Object.fromEntries(
      results.map((r) => [
        r.type === 'attempt-finished' ? r.slot : 0,
        r.type === 'attempt-finished' ? r.attempt : null,
      ]),
    );
    expect(bySlot[2]?.result).toBe('pass');
    expect(bySlot[3]?.result).toBe('pass');
    expect(bySlot[1]?.result).toBe('fail');
    expect(bySlot[1]?.errorCode).toBe('STEP_TIMEOUT');
    expect(bySlot[1]?.step).toBe('flash');
    await h.station.stop();
  });

  it('retries a transient failure per policy and passes on the retry', async () => {
    const h = await harness();
    h.driver.behaviour.set(deviceId(1), { failAt: { step: 'flash', code: 'USB_IO', times: 1 } });
    h.bus.plug('1-1', deviceId(1));
    await h.next((x) => x.type === 'attempt-finished' && x.attempt.result === 'pass');
    await h.station.idle();
    const attempts = h.log.attempts(h.batch.id);
    expect(attempts.map((a) => [a.result, a.tryNumber])).toEqual([
      ['fail', 1],
      ['pass', 2],
    ]);
    expect(h.events.some((e) => e.type === 'retrying')).toBe(true);
    await h.station.stop();
  });

  it('never retries a wrong platform and says to set it aside', async () => {
    const h = await harness();
    h.driver.behaviour.set(deviceId(1), { platformId: 12 });
    h.bus.plug('1-1', deviceId(1));
    const e = await h.next((x) => finished(x, 1));
    await h.station.idle();
    expect(e.type === 'attempt-finished' && e.attempt.errorCode).toBe('WRONG_PLATFORM');
    expect(e.type === 'attempt-finished' && e.attempt.errorRemedy).toBe(
      'Set aside: wrong platform for this product.',
    );
    expect(h.log.attempts(h.batch.id)).toHaveLength(1);
    expect(h.driver.calls).toEqual([`${deviceId(1)}:identify`]);
    await h.station.stop();
  });

  it('stops retrying after maxAttempts', async () => {
    const h = await harness({ policy: { maxAttempts: 3 } });
    h.driver.behaviour.set(deviceId(1), { failAt: { step: 'leave', code: 'USB_STALL', times: 10 } });
    h.bus.plug('1-1', deviceId(1));
    await h.next((x) => finished(x));
    await h.station.idle();
    expect(h.log.attempts(h.batch.id).map((a) => a.result)).toEqual(['fail', 'fail', 'fail']);
    await h.station.stop();
  });

  it('fails when a different device comes back, and never calls that a PASS', async () => {
    const h = await harness({ policy: { retryOn: [] } });
    h.driver.behaviour.set(deviceId(1), { comesBackAs: deviceId(9) });
    h.bus.plug('1-1', deviceId(1));
    const e = await h.next((x) => finished(x, 1));
    expect(e.type === 'attempt-finished' && e.attempt.errorCode).toBe('DEVICE_ID_CHANGED');
    expect(h.driver.calls).not.toContain(`${deviceId(1)}:register`);
    await h.station.stop();
  });

  it('reports an already provisioned device without flashing it again', async () => {
    const h = await harness();
    h.bus.plug('1-1', deviceId(1));
    await h.next((x) => finished(x, 1));
    await h.station.idle();
    h.bus.unplug('1-1');
    h.bus.plug('1-2', deviceId(1));
    const e = await h.next((x) => x.type === 'attempt-finished' && x.attempt.result === 'skipped');
    expect(e.type === 'attempt-finished' && e.attempt.alreadyProvisioned).toBe(true);
    expect(h.driver.calls.filter((c) => c.endsWith(':flash'))).toHaveLength(1);
    await h.station.stop();
  });

  it('re-flashes an already provisioned device when the profile says so', async () => {
    const h = await harness({ policy: { reflashAlreadyProvisioned: true } });
    h.bus.plug('1-1', deviceId(1));
    await h.next((x) => finished(x, 1));
    await h.station.idle();
    h.bus.unplug('1-1');
    h.bus.plug('1-1', deviceId(1));
    await h.next((x) => x.type === 'attempt-finished' && x.attempt.tryNumber === 2);
    expect(h.driver.calls.filter((c) => c.endsWith(':flash'))).toHaveLength(2);
    await h.station.stop();
  });

  it('marks attempts in flight as interrupted on stop', async () => {
    const h = await harness();
    h.driver.behaviour.set(deviceId(1), { hangAt: 'flash' });
    h.bus.plug('1-1', deviceId(1));
    await h.next((x) => x.type === 'step' && x.step === 'flash');
    await h.station.stop();
    const [a] = h.log.attempts(h.batch.id);
    expect(a?.result).toBe('interrupted');
    expect(a?.step).toBe('flash');
  });

  it('throttles progress to about 4 Hz per slot but always reports completion', async () => {
    const h = await harness();
    h.bus.plug('1-1', deviceId(1));
    await h.next((x) => finished(x, 1));
    const progress = h.events.filter((e) => e.type === 'progress');
    // Five updates arrive back to back: the first and the 100% one pass the throttle.
    expect(progress.map((p) => p.type === 'progress' && p.percent)).toEqual([0, 100]);
    await h.station.stop();
  });

  it('refuses a device when every slot is taken and ignores other vendors', async () => {
    const h = await harness({ policy: { slotCount: 1 } });
    h.driver.behaviour.set(deviceId(1), { hangAt: 'flash' });
    h.bus.plug('1-1', deviceId(1));
    h.bus.plug('1-2', deviceId(2));
    expect(h.events.some((e) => e.type === 'slot-refused' && e.portPath === '1-2')).toBe(true);
    await h.station.stop();
  });

  it('does not start while paused and starts waiting devices on resume', async () => {
    const h = await harness();
    h.station.pause('ana');
    h.bus.plug('1-1', deviceId(1));
    expect(h.log.attempts(h.batch.id)).toHaveLength(0);
    h.station.resume('ana');
    await h.next((x) => finished(x, 1));
    expect(h.log.audit(h.batch.id).map((a) => a.action)).toEqual([
      'batch-start',
      'batch-pause',
      'batch-resume',
    ]);
    await h.station.stop();
  });

  it('announces the target count once reached', async () => {
    const h = await harness({ batch: { targetCount: 2 } });
    h.bus.plug('1-1', deviceId(1));
    h.bus.plug('1-2', deviceId(2));
    const e = await h.next((x) => x.type === 'target-reached');
    expect(e.type === 'target-reached' && e.passed).toBe(2);
    await h.station.stop();
  });

  it('stops the batch with a named error when the log cannot be written', async () => {
    const h = await harness();
    h.driver.behaviour.set(deviceId(1), { stepDelayMs: 50 });
    h.bus.plug('1-1', deviceId(1));
    await h.next((x) => x.type === 'step' && x.step === 'flash');
    const pages = Number((h.log.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
    h.log.db.exec(`PRAGMA max_page_count = ${pages}`);
    // Fill every free byte (big rows, then smaller ones) so the pipeline's next write hits the limit.
    for (const size of [3000, 300, 30, 1]) {
      try {
        for (let i = 0; i < 1000; i++)
          h.log.recordEvent(h.batch.id, null, 'filler', { pad: 'x'.repeat(size) });
      } catch {
        // full at this size
      }
    }
    const e = await h.next((x) => x.type === 'fatal');
    expect(e.type === 'fatal' && e.error.code).toBe('STORE_DISK_FULL');
    expect(h.station.fatalError?.code).toBe('STORE_DISK_FULL');
    await h.station.stop();
    // What was logged before the disk filled is still there.
    expect(h.log.attempts(h.batch.id)[0]?.deviceId).toBe(deviceId(1));
  });
});

describe('Station in ota-on-setup mode', () => {
  it('only identifies and registers, then passes', async () => {
    const h = await harness({ batch: { mode: 'ota-on-setup', firmware: [] } });
    h.driver.behaviour.set(deviceId(5), { registration: 'queued' });
    h.bus.plug('1-1', deviceId(5));
    const e = await h.next((x) => finished(x, 1));
    expect(e.type === 'attempt-finished' && e.attempt.result).toBe('pass');
    expect(h.driver.calls).toEqual([`${deviceId(5)}:identify`, `${deviceId(5)}:register`]);
    expect(h.log.attempts(h.batch.id)[0]?.registrationState).toBe('queued');
    await h.station.stop();
  });
});

describe('Station with two devices reporting one ID', () => {
  it('refuses the second while the first is in progress, and never retries it', async () => {
    const h = await harness();
    h.driver.behaviour.set(deviceId(7), { stepDelayMs: 40 });
    h.bus.plug('1-1', deviceId(7));
    await h.next((x) => x.type === 'step' && x.slot === 1 && x.step === 'flash');
    h.bus.plug('1-2', deviceId(7));
    const dup = await h.next((x) => finished(x, 2));
    expect(dup.type === 'attempt-finished' && dup.attempt.errorCode).toBe('DUPLICATE_DEVICE_ID');
    const first = await h.next((x) => finished(x, 1));
    expect(first.type === 'attempt-finished' && first.attempt.result).toBe('pass');
    await h.station.idle();
    expect(h.log.attempts(h.batch.id)).toHaveLength(2);
    await h.station.stop();
  });
});

describe('Station without hot-plug events', () => {
  it('finds a device plugged in silently on its next rescan', async () => {
    const h = await harness({ rescanIntervalMs: 20 });
    h.bus.plugSilently('1-1', deviceId(8));
    const e = await h.next((x) => finished(x, 1));
    expect(e.type === 'attempt-finished' && e.attempt.result).toBe('pass');
    await h.station.stop();
  });
});
