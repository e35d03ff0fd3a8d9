import type { Platform } from '../platforms';
import { now, sleepUntil } from './clock';
import {
  DFU_REQUEST,
  DFU_STATE,
  DFU_STATUS,
  DFUSE_COMMAND,
  type DfuStateValue,
  type DfuStatusName,
} from './dfu-constants';
import type { FlashStatus, ProgramCheck, SimFlash } from './flash';
import { eraseMs, programMs, type ResetKind, type TimingProfile } from './timing';
import type { ControlResult, SetupPacket, SimFaults } from './types';

/**
 * The DFU-mode interface of a Particle bootloader: DFU 1.1 state machine with ST's DfuSe extension
 * (AN3156), following Device OS's usbd_dfu driver where it decides something the specs leave open:
 *
 * - DNLOAD (wLength > 0) in dfuIDLE / dfuDNLOAD-IDLE stores the block and goes to dfuDNLOAD-SYNC.
 *   The work (a DfuSe command when wValue = 0, data at pointer + (wValue − 2) × wTransferSize
 *   when wValue ≥ 2) starts when GETSTATUS reports dfuDNBUSY; its outcome (dfuDNLOAD-IDLE or
 *   dfuERROR + status) shows at the next GETSTATUS once the modelled time has passed.
 * - A zero-length DNLOAD is "leave": dfuMANIFEST-SYNC; the next GETSTATUS reports dfuMANIFEST
 *   (Gen 3+) then the device resets, or (Gen 2) reports dfuDNLOAD-IDLE and resets by itself.
 * - UPLOAD wValue = 0 returns the DfuSe command list; wValue ≥ 2 reads memory.
 * - A request with no transition from the current state STALLs and enters dfuERROR with
 *   errSTALLEDPKT (DFU 1.1 §6.1.2's meaning; Device OS reports errUNKNOWN there). CLRSTATUS leaves
 *   dfuERROR for dfuIDLE.
 */

export interface DfuHost {
  readonly platform: Platform;
  readonly timing: TimingProfile;
  readonly programCheck: ProgramCheck;
  readonly faults: SimFaults;
  /** Unscaled model ms → wall-clock ms. */
  scale(ms: number): number;
  /** Adds unscaled ms to the device's inherent time. */
  account(ms: number): void;
  flashFor(alt: number): SimFlash | undefined;
  /** Reset after the current reply (leave → normal mode; read-unprotect → DFU again). */
  /** `detachAfterMs` (model ms) overrides the platform's detach delay. */
  requestReset(target: 'normal' | 'dfu', reason: string, kind: ResetKind, detachAfterMs?: number): void;
  /** Drop off the bus after `afterMs` wall-clock ms (fault); it comes back after its re-enumeration delay. */
  dropOff(reason: string, afterMs: number): void;
  readonly stats: { sectorsErased: number; bytesProgrammed: number };
  /** Device Protection (Device OS ≥ 6.0): protected and not in Service Mode. */
  protectedNow(): boolean;
  /** DfuSe 0xFB: leave Service Mode. */
  clearSecurityOverride(): void;
  /** Particle's DfuSe extensions this bootloader lists and accepts (0xFA, 0xFB). */
  readonly particleCommands: readonly number[];
}

interface Outcome {
  readonly state: DfuStateValue;
  readonly status: number;
}

const STALL: ControlResult = { status: 'stall' };

export class DfuFunction {
  private state: DfuStateValue = DFU_STATE.dfuIDLE;
  private status: number = DFU_STATUS.OK;
  private alt = 0;
  private pointer = 0;
  /** The block received by the last DNLOAD, waiting for GETSTATUS to start it. */
  private block: { wValue: number; data: Uint8Array } | undefined;
  /** The running operation: its end (performance.now()) and what it leaves behind. */
  private busy: { until: number; outcome: Outcome } | undefined;
  private stuck = false;
  private operations = 0;
  private erases = 0;
  private getStatusCount = 0;
  private downloaded = 0;
  /** Addresses (alt 0) where a download started since the last scan: where module prefixes may be. */
  private readonly writeStarts = new Set<number>();

  constructor(private readonly host: DfuHost) {}

  get currentState(): DfuStateValue {
    return this.state;
  }
  get currentStatus(): number {
    return this.status;
  }
  get alternate(): number {
    return this.alt;
  }
  get addressPointer(): number {
    return this.pointer;
  }

  /** Returns and forgets where downloads started in the internal flash (alt 0). */
  takeWriteStarts(): number[] {
    const out = [...this.writeStarts];
    this.writeStarts.clear();
    return out;
  }

  /** Power-on / USB reset state. */
  reset(): void {
    this.state = DFU_STATE.dfuIDLE;
    this.status = DFU_STATUS.OK;
    this.block = undefined;
    this.busy = undefined;
    this.stuck = false;
    this.alt = 0;
  }

  selectAlternate(alt: number): boolean {
    if (!this.host.flashFor(alt)) return false;
    this.alt = alt;
    return true;
  }

  private fail(status: number): ControlResult {
    this.state = DFU_STATE.dfuERROR;
    this.status = status;
    return STALL;
  }

  private outOfSequence(): ControlResult {
    return this.fail(DFU_STATUS.errSTALLEDPKT);
  }

  /** Applies a finished operation's outcome. */
  private settle(): void {
    if (this.busy && !this.stuck && now() >= this.busy.until) {
      this.state = this.busy.outcome.state;
      this.status = this.busy.outcome.status;
      this.busy = undefined;
    }
  }

  async handle(
    setup: SetupPacket,
    dataOut: Uint8Array | undefined,
    signal?: AbortSignal,
  ): Promise<ControlResult> {
    const policy = this.host.timing.busyPolicy;
    if (this.busy && !this.stuck) {
      if (now() < this.busy.until) {
        if (policy === 'hold') {
          await sleepUntil(this.busy.until, signal);
        } else if (policy === 'answer-busy' && setup.bRequest === DFU_REQUEST.GETSTATUS) {
          return this.statusReply(DFU_STATE.dfuDNBUSY, Math.ceil(this.busy.until - now()));
        } else {
          this.busy = undefined;
          return this.outOfSequence();
        }
      }
      this.settle();
    }
    if (this.stuck) {
      if (setup.bRequest === DFU_REQUEST.GETSTATUS)
        return this.statusReply(DFU_STATE.dfuDNBUSY, this.pollFor(0));
      return STALL;
    }
    switch (setup.bRequest) {
      case DFU_REQUEST.DNLOAD:
        return this.dnload(setup, dataOut ?? new Uint8Array(0));
      case DFU_REQUEST.UPLOAD:
        return this.upload(setup);
      case DFU_REQUEST.GETSTATUS:
        return this.getStatus();
      case DFU_REQUEST.CLRSTATUS:
        if (this.state !== DFU_STATE.dfuERROR) return this.outOfSequence();
        this.state = DFU_STATE.dfuIDLE;
        this.status = DFU_STATUS.OK;
        return { status: 'ok' };
      case DFU_REQUEST.GETSTATE:
        if (
          this.state === DFU_STATE.dfuMANIFEST ||
          this.state === DFU_STATE.dfuMANIFEST_WAIT_RESET ||
          this.state === DFU_STATE.dfuDNBUSY
        ) {
          return this.outOfSequence();
        }
        return { status: 'ok', data: Uint8Array.of(this.state) };
      case DFU_REQUEST.ABORT:
        switch (this.state) {
          case DFU_STATE.dfuIDLE:
          case DFU_STATE.dfuDNLOAD_SYNC:
          case DFU_STATE.dfuDNLOAD_IDLE:
          case DFU_STATE.dfuMANIFEST_SYNC:
          case DFU_STATE.dfuUPLOAD_IDLE:
            this.state = DFU_STATE.dfuIDLE;
            this.status = DFU_STATUS.OK;
            this.block = undefined;
            return { status: 'ok' };
          default:
            return this.outOfSequence();
        }
      case DFU_REQUEST.DETACH:
        // In DFU mode Device OS answers DETACH by detaching and attaching again (bitWillDetach).
        if (this.state === DFU_STATE.dfuIDLE || this.state === DFU_STATE.dfuDNLOAD_IDLE) {
          this.host.requestReset('dfu', 'DFU_DETACH', 'reset');
          return { status: 'ok' };
        }
        return this.outOfSequence();
      default:
        return this.outOfSequence();
    }
  }

  /** Unscaled bwPollTimeout the firmware would report for an operation of `operationMs`. */
  private modelPoll(operationMs: number): number {
    const p = this.host.timing.pollTimeout;
    return p === 'operation' ? Math.ceil(operationMs) : p;
  }

  /**
   * The bwPollTimeout actually sent: scaled like every other delay, so a host that honours it
   * waits exactly as long as the scaled device needs (0 when time is scaled to 0).
   */
  private pollFor(operationMs: number): number {
    return Math.ceil(this.host.scale(this.modelPoll(operationMs)));
  }

  private statusReply(state: number, pollMs: number, status = this.status): ControlResult {
    const poll = Math.max(0, Math.min(0xffffff, Math.round(pollMs)));
    return {
      status: 'ok',
      data: Uint8Array.of(status, poll & 0xff, (poll >> 8) & 0xff, (poll >> 16) & 0xff, state, 0),
    };
  }

  private dnload(setup: SetupPacket, data: Uint8Array): ControlResult {
    if (this.state !== DFU_STATE.dfuIDLE && this.state !== DFU_STATE.dfuDNLOAD_IDLE)
      return this.outOfSequence();
    if (setup.wLength === 0) {
      this.state = DFU_STATE.dfuMANIFEST_SYNC;
      return { status: 'ok' };
    }
    if (setup.wLength > this.host.platform.dfu.transferSize) return this.outOfSequence();
    this.block = { wValue: setup.wValue, data: data.slice(0, setup.wLength) };
    this.state = DFU_STATE.dfuDNLOAD_SYNC;
    return { status: 'ok' };
  }

  private upload(setup: SetupPacket): ControlResult {
    if (this.state !== DFU_STATE.dfuIDLE && this.state !== DFU_STATE.dfuUPLOAD_IDLE)
      return this.outOfSequence();
    const gen2 = this.host.platform.generation <= 2;
    if (setup.wValue === 0) {
      this.state = DFU_STATE.dfuIDLE;
      const cmds: number[] = [
        DFUSE_COMMAND.GET_COMMANDS,
        DFUSE_COMMAND.SET_ADDRESS_POINTER,
        DFUSE_COMMAND.ERASE,
      ];
      if (gen2) cmds.push(DFUSE_COMMAND.READ_UNPROTECT);
      cmds.push(...this.host.particleCommands);
      return { status: 'ok', data: Uint8Array.from(cmds).subarray(0, setup.wLength) };
    }
    if (setup.wValue === 1) return this.fail(DFU_STATUS.errSTALLEDPKT);
    if (this.host.protectedNow()) {
      // usbd_dfu.cpp: a protected device answers the upload with no data and enters dfuERROR
      // with errVENDOR, without stalling.
      this.state = DFU_STATE.dfuERROR;
      this.status = DFU_STATUS.errVENDOR;
      return { status: 'ok', data: new Uint8Array(0) };
    }
    const flash = this.host.flashFor(this.alt);
    if (!flash) return this.fail(DFU_STATUS.errTARGET);
    const transferSize = this.host.platform.dfu.transferSize;
    if (setup.wLength > transferSize) return this.outOfSequence();
    const address = this.pointer + (setup.wValue - 2) * transferSize;
    // A short frame ends the upload (DFU 1.1 §6.2): stop at the end of the readable memory.
    let length = 0;
    for (let a = address; length < setup.wLength; ) {
      const seg = flash.segmentAt(a);
      if (!seg?.readable) break;
      const n = Math.min(seg.end - a, setup.wLength - length);
      length += n;
      a += n;
    }
    if (length === 0 && setup.wLength > 0) {
      const why = flash.canRead(address, 1);
      return this.fail(why === 'errVENDOR' ? DFU_STATUS.errVENDOR : DFU_STATUS.errADDRESS);
    }
    this.state = length < setup.wLength ? DFU_STATE.dfuIDLE : DFU_STATE.dfuUPLOAD_IDLE;
    this.host.account(0);
    return { status: 'ok', data: flash.read(address, length) };
  }

  private getStatus(): ControlResult {
    this.getStatusCount++;
    const wrong = this.host.faults.wrongStatus;
    if (wrong && wrong.onGetStatus === this.getStatusCount) {
      this.state = DFU_STATE.dfuERROR;
      this.status = DFU_STATUS[wrong.status];
      return this.statusReply(DFU_STATE.dfuERROR, 0);
    }
    switch (this.state) {
      case DFU_STATE.dfuDNLOAD_SYNC:
        return this.startOperation();
      case DFU_STATE.dfuMANIFEST_SYNC: {
        if (this.host.platform.dfu.leaveStaysInDnloadIdle) {
          // Gen 2: report dfuDNLOAD-IDLE (to please dfu-util) and reset by itself.
          this.state = DFU_STATE.dfuDNLOAD_IDLE;
          this.host.requestReset('normal', 'DFU leave', 'leave');
          return this.statusReply(DFU_STATE.dfuDNLOAD_IDLE, 0);
        }
        this.state = DFU_STATE.dfuMANIFEST_WAIT_RESET;
        this.host.account(this.host.timing.manifestMs);
        this.host.requestReset('normal', 'DFU leave', 'leave', this.host.timing.manifestMs);
        return this.statusReply(
          DFU_STATE.dfuMANIFEST,
          this.pollFor(this.host.timing.manifestMs),
          DFU_STATUS.OK,
        );
      }
      default:
        return this.statusReply(this.state, 0);
    }
  }

  /** GETSTATUS in dfuDNLOAD-SYNC: report dfuDNBUSY and run the block's work against the clock. */
  private startOperation(): ControlResult {
    const block = this.block;
    this.block = undefined;
    if (!block) {
      this.state = DFU_STATE.dfuDNLOAD_IDLE;
      return this.statusReply(DFU_STATE.dfuDNLOAD_IDLE, 0);
    }
    this.operations++;
    const faults = this.host.faults;
    if (this.host.protectedNow() && !this.allowedWhenProtected(block)) {
      // usbd_dfu.cpp handleDfuGetStatus: nothing but 0xFA / 0xFB runs on a protected device.
      this.state = DFU_STATE.dfuERROR;
      this.status = DFU_STATUS.errVENDOR;
      return this.statusReply(DFU_STATE.dfuERROR, 0);
    }
    const { ms, outcome, dropAfterMs } = this.execute(block);
    const poll = this.pollFor(ms);
    this.host.account(Math.max(ms, this.modelPoll(ms)));
    this.state = DFU_STATE.dfuDNBUSY;
    if (faults.stuckBusyFrom !== undefined && this.operations >= faults.stuckBusyFrom) {
      this.stuck = true;
      return this.statusReply(DFU_STATE.dfuDNBUSY, poll);
    }
    this.busy = { until: now() + this.host.scale(ms), outcome };
    if (dropAfterMs !== undefined) {
      this.host.dropOff('fault: disconnected during a DFU operation', this.host.scale(dropAfterMs));
    }
    return this.statusReply(DFU_STATE.dfuDNBUSY, poll, DFU_STATUS.OK);
  }

  private allowedWhenProtected(block: { wValue: number; data: Uint8Array }): boolean {
    const cmd = block.data[0];
    return (
      block.wValue === 0 &&
      (cmd === DFUSE_COMMAND.ENTER_SAFE_MODE || cmd === DFUSE_COMMAND.CLEAR_SECURITY_MODE_OVERRIDE) &&
      this.host.particleCommands.includes(cmd)
    );
  }

  private execute(block: { wValue: number; data: Uint8Array }): {
    ms: number;
    outcome: Outcome;
    dropAfterMs?: number;
  } {
    const okOutcome: Outcome = { state: DFU_STATE.dfuDNLOAD_IDLE, status: DFU_STATUS.OK };
    const error = (s: number): Outcome => ({ state: DFU_STATE.dfuERROR, status: s });
    const fromFlash = (s: FlashStatus): Outcome =>
      s === 'OK' ? okOutcome : error(DFU_STATUS[s as DfuStatusName]);
    const t = this.host.timing;
    const gen2 = this.host.platform.generation <= 2;
    const flash = this.host.flashFor(this.alt);
    const { data, wValue } = block;
    if (!flash) return { ms: 0, outcome: error(DFU_STATUS.errTARGET) };

    if (wValue === 0) {
      const cmd = data[0];
      const arg = data.length >= 5 ? new DataView(data.buffer, data.byteOffset + 1, 4).getUint32(0, true) : 0;
      switch (cmd) {
        case DFUSE_COMMAND.GET_COMMANDS:
          return { ms: 0, outcome: okOutcome };
        case DFUSE_COMMAND.SET_ADDRESS_POINTER:
          if (data.length !== 5) return { ms: 0, outcome: error(DFU_STATUS.errUNKNOWN) };
          this.pointer = arg;
          return { ms: 0, outcome: okOutcome };
        case DFUSE_COMMAND.ERASE: {
          if (data.length === 1) {
            // Mass erase: ST's library does it; Device OS (Gen 3+) refuses with errTARGET.
            if (!gen2) return { ms: 0, outcome: error(DFU_STATUS.errTARGET) };
            const sizes = flash.eraseAll();
            this.host.stats.sectorsErased += sizes.length;
            return { ms: sizes.reduce((a, s) => a + eraseMs(t, s), 0), outcome: okOutcome };
          }
          if (data.length !== 5) return { ms: 0, outcome: error(DFU_STATUS.errUNKNOWN) };
          const r = flash.eraseSector(arg);
          if (r.status !== 'OK') return { ms: 0, outcome: fromFlash(r.status) };
          this.erases++;
          this.host.stats.sectorsErased++;
          const ms = eraseMs(t, r.sectorSize);
          const dropDuring = this.host.faults.disconnectDuringErase === this.erases;
          return dropDuring ? { ms, outcome: okOutcome, dropAfterMs: ms / 2 } : { ms, outcome: okOutcome };
        }
        case DFUSE_COMMAND.READ_UNPROTECT: {
          // STM32: removing read protection mass-erases the flash and resets the part.
          if (!gen2) return { ms: 0, outcome: error(DFU_STATUS.errUNKNOWN) };
          const sizes = flash.eraseAll();
          this.host.requestReset('dfu', 'read unprotect', 'reset');
          return { ms: sizes.reduce((a, s) => a + eraseMs(t, s), 0), outcome: okOutcome };
        }
        case DFUSE_COMMAND.ENTER_SAFE_MODE:
          if (!this.host.particleCommands.includes(cmd))
            return { ms: 0, outcome: error(DFU_STATUS.errSTALLEDPKT) };
          // The bootloader notes "safe mode" and leaves through dfuMANIFEST-SYNC like a zero-length
          // DNLOAD; the simulator has no safe mode, so the device comes back in normal mode.
          return { ms: 0, outcome: { state: DFU_STATE.dfuMANIFEST_SYNC, status: DFU_STATUS.OK } };
        case DFUSE_COMMAND.CLEAR_SECURITY_MODE_OVERRIDE:
          if (!this.host.particleCommands.includes(cmd))
            return { ms: 0, outcome: error(DFU_STATUS.errSTALLEDPKT) };
          this.host.clearSecurityOverride();
          return { ms: 0, outcome: okOutcome };
        default:
          return { ms: 0, outcome: error(DFU_STATUS.errSTALLEDPKT) };
      }
    }
    if (wValue === 1) return { ms: 0, outcome: error(DFU_STATUS.errTARGET) };

    const address = this.pointer + (wValue - 2) * this.host.platform.dfu.transferSize;
    const limit = this.host.faults.disconnectAfterBytes;
    const before = this.downloaded;
    const status = flash.program(address, data, this.host.programCheck);
    if (status !== 'OK') return { ms: 0, outcome: fromFlash(status) };
    this.downloaded += data.length;
    if (this.alt === 0 && wValue === 2) this.writeStarts.add(address);
    this.host.stats.bytesProgrammed += data.length;
    const flip = this.host.faults.flipBitAfterProgram;
    if (flip && flip.address >= address && flip.address < address + data.length)
      flash.flipBit(flip.address, flip.bit);
    const ms = programMs(t, data.length);
    if (limit !== undefined && before < limit && this.downloaded >= limit) {
      return { ms, outcome: okOutcome, dropAfterMs: 0 };
    }
    return { ms, outcome: okOutcome };
  }
}
