import { type LsError, LsFailure, toLsError } from '../errors/result';
import { dfuFailure, hex } from './errors';
import type { LeaveResult } from './leave';
import { PhaseProgress, type ProgressListener } from './progress';
import type { DfuSession } from './session';

/**
 * One thing to write: what core/firmware's validateSet plans (bootloader, system parts by index,
 * user part, the Gen 3 invalidation image). Structural, so the engine does not depend on firmware.
 */
export interface FlashImage {
  readonly label: string;
  readonly alt: number;
  readonly address: number;
  readonly data: Uint8Array;
}

export interface WriteOptions {
  /** Read back and compare each image (default true). An image counts as written only if it matches. */
  readonly verify?: boolean;
  /** Leave DFU mode after the last image (default true). */
  readonly leave?: boolean;
  /** Overall limit for the whole plan. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

export interface PhaseTimings {
  eraseMs: number;
  downloadMs: number;
  verifyMs: number;
}

export interface ImageReport extends PhaseTimings {
  readonly label: string;
  readonly alt: number;
  readonly address: string;
  readonly bytes: number;
  /** True only when the bytes are on the device: verified by readback, or written with verify off. */
  written: boolean;
  verified: boolean;
}

export interface WriteReport {
  readonly images: ImageReport[];
  readonly timings: PhaseTimings & { leaveMs: number; totalMs: number };
  readonly bytes: number;
  readonly verified: boolean;
  readonly left: boolean;
  readonly leave?: LeaveResult;
}

export interface WriteFailure extends LsError {
  /** What got done before the failure, so the attempt log shows which modules are on the device. */
  readonly report: WriteReport;
}

export type WriteResult =
  | { readonly ok: true; readonly value: WriteReport }
  | { readonly ok: false; readonly error: WriteFailure };

/** Default overall limit: a Photon full set with verify takes ~1 min; ten times that is a hang. */
const DEFAULT_PLAN_TIMEOUT_MS = 10 * 60_000;

/**
 * Writes each image at its address (erase covered sectors → download → verify by readback), in
 * the order given (the planner's: bootloader, system parts by index, user part), then leaves DFU.
 * Every image is checked against the device's layouts before anything is sent.
 */
export const writeImages = async (
  session: DfuSession,
  plan: readonly FlashImage[],
  options: WriteOptions = {},
): Promise<WriteResult> => {
  const verify = options.verify ?? true;
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? DEFAULT_PLAN_TIMEOUT_MS);
  const images: ImageReport[] = plan.map((img) => ({
    label: img.label,
    alt: img.alt,
    address: hex(img.address),
    bytes: img.data.length,
    eraseMs: 0,
    downloadMs: 0,
    verifyMs: 0,
    written: false,
    verified: false,
  }));
  const timings = { eraseMs: 0, downloadMs: 0, verifyMs: 0, leaveMs: 0, totalMs: 0 };
  let leaveResult: LeaveResult | undefined;
  const report = (): WriteReport => ({
    images,
    timings: { ...timings, totalMs: performance.now() - started },
    bytes: plan.reduce((n, i) => n + i.data.length, 0),
    verified: verify && images.every((i) => i.verified),
    left: leaveResult !== undefined,
    ...(leaveResult ? { leave: leaveResult } : {}),
  });
  const budget = () => ({
    timeoutMs: Math.max(1, deadline - performance.now()),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    for (const img of plan) session.checkWritable(img.address, img.data.length, session.findAlt(img.alt));
    for (const [index, img] of plan.entries()) {
      const r = images[index] as ImageReport;
      const phase = {
        ...budget(),
        label: img.label,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      };
      await session.selectAlt(img.alt);
      let t = performance.now();
      await session.erase(img.address, img.data.length, phase);
      r.eraseMs = performance.now() - t;
      t = performance.now();
      await session.download(img.address, img.data, { ...phase, ...budget() });
      r.downloadMs = performance.now() - t;
      if (verify) {
        t = performance.now();
        const v = await session.verify(img.address, img.data, { ...phase, ...budget() });
        r.verifyMs = performance.now() - t;
        if (!v.ok)
          throw dfuFailure(
            'DFU_VERIFY_MISMATCH',
            `Readback of ${img.label} differs from the file at ${hex(v.mismatchAddress ?? img.address)} (expected 0x${(v.expected ?? 0).toString(16).padStart(2, '0')}, read 0x${(v.actual ?? 0).toString(16).padStart(2, '0')}).`,
            {
              remedy: 'Retry the device once; if it fails again its flash is bad: set it aside.',
              details: {
                label: img.label,
                address: hex(v.mismatchAddress ?? img.address),
                expected: v.expected,
                actual: v.actual,
              },
            },
          );
        r.verified = true;
      }
      r.written = true;
      timings.eraseMs += r.eraseMs;
      timings.downloadMs += r.downloadMs;
      timings.verifyMs += r.verifyMs;
    }
    if (options.leave ?? true) {
      const t = performance.now();
      // Leave from the internal flash alt, as Particle's tools do; its start is the jump address.
      await session.selectAlt(session.alts[0]?.alt ?? 0);
      // Leaving moves no bytes: one step, so a progress bar can show it started and finished.
      const progress = new PhaseProgress('leave', 1, undefined, options.onProgress);
      leaveResult = await session.leave(budget());
      progress.advance(1);
      timings.leaveMs = performance.now() - t;
    }
    return { ok: true, value: report() };
  } catch (e) {
    const error = e instanceof LsFailure ? e.error : toLsError(e);
    return { ok: false, error: { ...error, report: report() } };
  }
};
