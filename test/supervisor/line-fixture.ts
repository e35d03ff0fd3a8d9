import { type LineDbTarget, lineDbTargetFromEnv } from '../../core/line-db/config';
import type { Forwarder } from '../../core/line-db/forwarder';
import type { StepName } from '../../core/store/records';
import type { StationLog } from '../../core/store/station-log';
import { testForwarder } from '../line-db/fixtures';
import { manualClock, newBatch, openLog, tempDir } from '../store/helpers';

/*
 * Two stations writing known attempts to their own logs and forwarding them, for the supervisor's
 * tests: every number the view shows can be worked out by hand from `seedLine`.
 */

export const targetFor = (url: string): LineDbTarget => {
  const t = lineDbTargetFromEnv({ LINESTATION_LINE_DB: url });
  if (!t.ok || !t.value) throw new Error('bad test URL');
  return t.value;
};

export const STATION_A = '00000000-0000-4000-8000-00000000000a';
export const STATION_B = '00000000-0000-4000-8000-00000000000b';

export const dev = (n: number): string => `e00fce68${n.toString(16).padStart(16, '0')}`;

export interface TestStation {
  readonly log: StationLog;
  readonly fwd: Forwarder;
  readonly batch: (lot: string, operator: string) => number;
  /** One finished attempt; the shared clock moves on by a minute. */
  readonly attempt: (
    batchId: number,
    a: {
      device?: string;
      result: 'pass' | 'fail' | 'skipped';
      code?: string;
      label?: string;
      steps?: Partial<Record<StepName, number>>;
    },
  ) => number;
  readonly forward: () => Promise<void>;
}

export const lineStations = (url: string) => {
  const clock = manualClock(Date.parse('2026-03-02T08:00:00.000Z'));
  const station = (id: string, name: string): TestStation => {
    const { log } = openLog(tempDir('ls-sup-'), clock.now);
    const fwd = testForwarder({ db: log.db, target: targetFor(url), station: { id, name } });
    let slot = 0;
    return {
      log,
      fwd,
      batch: (lot, operator) => log.createBatch(newBatch({ lot, operator, station: name })).id,
      attempt: (batchId, a) => {
        slot = (slot % 8) + 1;
        const at = log.startAttempt({ batchId, slot, portPath: `1-${slot}` });
        if (a.device) log.setIdentity(at.id, { deviceId: a.device, platform: 'boron' });
        for (const [step, ms] of Object.entries(a.steps ?? {})) {
          log.beginStep(at.id, step as StepName);
          log.finishStep(at.id, step as StepName, ms);
        }
        clock.advance(60_000);
        log.finishAttempt(at.id, {
          result: a.result,
          step: a.result === 'fail' ? 'flash' : 'register',
          ...(a.code ? { error: { code: a.code, message: `${a.code} happened.` } } : {}),
          ...(a.result === 'skipped' ? { alreadyProvisioned: true } : {}),
        });
        if (a.label) log.setLabelSerial(at.id, a.label);
        return at.id;
      },
      forward: async () => {
        const st = await fwd.forwardNow({ deadlineMs: 10_000 });
        if (st.state !== 'connected' || st.behind > 0) throw new Error(`not forwarded: ${st.error?.code}`);
      },
    };
  };
  return { clock, station };
};

/**
 * Lot L1 at two stations. A (ana): dev1 PASS, dev2 FAIL (DFU_VERIFY_MISMATCH), dev3 PASS, a FAIL
 * before identify (USB_TIMEOUT). B (bob): dev2 PASS on a retest (label SN-0002), dev1 skipped
 * (already provisioned at A), dev4 FAIL (STEP_TIMEOUT) then PASS.
 *
 * Line: 8 attempts, 4 passed, 3 failed, 1 skipped; 4 units, all passed (yield 1); first attempts
 * dev1 A pass, dev2 A fail, dev3 A pass, dev4 B fail → first-pass yield 2/4. A: 3 units, 2 passed,
 * FPY 2/3. B: 3 units, 2 passed, first attempts only dev4 → FPY 0/1 (a station's own try numbers
 * would call dev2's PASS at B first-time).
 */
export const seedLine = async (url: string) => {
  const line = lineStations(url);
  const a = line.station(STATION_A, 'A-1');
  const b = line.station(STATION_B, 'B-2');
  const la = a.batch('L1', 'ana');
  const lb = b.batch('L1', 'bob');
  a.attempt(la, { device: dev(1), result: 'pass', steps: { identify: 40, flash: 9000 } });
  a.attempt(la, { device: dev(2), result: 'fail', code: 'DFU_VERIFY_MISMATCH', steps: { identify: 42 } });
  a.attempt(la, { device: dev(3), result: 'pass', steps: { identify: 44, flash: 9100 } });
  a.attempt(la, { result: 'fail', code: 'USB_TIMEOUT' });
  b.attempt(lb, { device: dev(2), result: 'pass', label: 'SN-0002', steps: { identify: 46, flash: 9200 } });
  b.attempt(lb, { device: dev(1), result: 'skipped', steps: { identify: 48 } });
  b.attempt(lb, { device: dev(4), result: 'fail', code: 'STEP_TIMEOUT', steps: { identify: 50 } });
  b.attempt(lb, { device: dev(4), result: 'pass', steps: { identify: 52, flash: 9300 } });
  await a.forward();
  await b.forward();
  return { ...line, a, b, la, lb };
};
