import type { Platform } from '../platforms';
import type { DeviceOsFeatures } from './device-os';
import { boundsFor, type UpdateLayout } from './module-bounds';
import { MODULE_FLAG, MODULE_FUNCTION, type ModuleImage, readModuleImage } from './modules';
import {
  decodeFinishFirmwareUpdate,
  decodeFirmwareUpdateData,
  decodeStartFirmwareUpdate,
  encodeStartFirmwareUpdateReply,
} from './protobuf';
import { otaEraseMs, otaProgramMs, type TimingProfile } from './timing';
import type { SimModule } from './types';

/**
 * Normal-mode firmware update over USB control requests, as Device OS 6.2 does it
 * (system/src/control/storage.cpp, system/src/system_update.cpp, system/src/firmware_update.cpp,
 * hal/src/nRF52840|rtl872x/ota_flash_hal.cpp and ota_module.cpp):
 *
 * - START_FIRMWARE_UPDATE (250) cancels any earlier USB transfer, then refuses a non-BIN format
 *   (-120), a running update (-210), disabled updates (-1380), a size of 0 or larger than the OTA
 *   area (-1351); otherwise it erases the OTA sectors covering the size before it answers
 *   `{ chunk_size: 1024 }`.
 * - FIRMWARE_UPDATE_DATA (253) appends 1..remaining bytes at the running offset; no transfer is
 *   -210, empty or too long -290, and ANY error cancels the whole transfer.
 * - FINISH_FIRMWARE_UPDATE (251): bytes missing -210; else validation (below). validate_only
 *   answers the verdict and discards the upload; otherwise the answer is 0 and, once the host has
 *   it, the update is applied and the device resets (the device model does that part).
 * - CANCEL_FIRMWARE_UPDATE (252) cancels; always 0.
 */

/** Device OS system_error_t codes of the update path (services/inc/system_error.h). */
export const UPDATE_ERROR = {
  NOT_SUPPORTED: -120,
  INVALID_STATE: -210,
  BAD_DATA: -280,
  OUT_OF_RANGE: -290,
  OTA_MODULE_NOT_FOUND: -1300,
  OTA_UNSUPPORTED_MODULE: -1310,
  OTA_VALIDATION_FAILED: -1320,
  OTA_INTEGRITY_CHECK_FAILED: -1330,
  OTA_DEPENDENCY_CHECK_FAILED: -1340,
  OTA_INVALID_ADDRESS: -1350,
  OTA_INVALID_SIZE: -1351,
  OTA_INVALID_PLATFORM: -1360,
  OTA_INVALID_FORMAT: -1370,
  OTA_UPDATES_DISABLED: -1380,
  PROTECTED: -1801,
} as const;

/** Device OS hard-codes the chunk size it announces (storage.cpp: "TODO: Determine depending on free RAM?"). */
export const UPDATE_CHUNK_SIZE = 1024;

/** At most two modules of a COMBINED image are validated and applied (MAX_COMBINED_MODULE_COUNT). */
const MAX_COMBINED = 2;

/** module_validation_flags_t: what fetch_module checks and what passed. */
const VALID = { INTEGRITY: 0x02, DEPENDENCIES: 0x04, RANGE: 0x08, PLATFORM: 0x10, DEPENDENCIES_FULL: 0x20 };

/** The step of the transfer a refusal (fault) belongs to. */
export type UpdateStage = 'start' | 'data' | 'finish';

/** Where Device OS produces each code, so an injected refusal arrives where a real one would. */
export const stageOf = (result: number): UpdateStage => {
  switch (result) {
    case UPDATE_ERROR.INVALID_STATE:
    case UPDATE_ERROR.OTA_UPDATES_DISABLED:
    case UPDATE_ERROR.NOT_SUPPORTED:
    case UPDATE_ERROR.OTA_INVALID_SIZE:
      return 'start';
    case UPDATE_ERROR.OUT_OF_RANGE:
      return 'data';
    default:
      return 'finish';
  }
};

/** What the update needs to know about the device it runs on, at the moment of each request. */
export interface UpdateContext {
  readonly platform: Platform;
  readonly layout: UpdateLayout;
  readonly features: DeviceOsFeatures;
  /** The modules the device runs (dependency checks). */
  readonly modules: readonly SimModule[];
  /** Protected or in Service Mode (security_mode protected || overridden): stricter checks. */
  readonly protectedOrService: boolean;
  readonly updatesEnabled: boolean;
  /** Fault hook: a result code to answer at this stage instead of the truth. */
  refusal(stage: UpdateStage): number | undefined;
}

export interface StepResult {
  readonly result: number;
  readonly reply?: Uint8Array;
  /** Unscaled device time the step takes before CHECK reports it (erase, program). */
  readonly deviceMs: number;
}

/** A validated module ready to apply, with its bytes (module start to CRC inclusive). */
export interface ValidatedModule {
  readonly image: ModuleImage;
  readonly bytes: Uint8Array;
}

const result = (code: number, deviceMs = 0): StepResult => ({ result: code, deviceMs });

export class FirmwareUpdate {
  private transfer: { readonly data: Uint8Array; offset: number } | undefined;

  constructor(private readonly timing: TimingProfile) {}

  get active(): boolean {
    return this.transfer !== undefined;
  }

  /** cancelFirmwareUpdate(): forget the transfer (also what a reset does). */
  cancel(): void {
    this.transfer = undefined;
  }

  start(payload: Uint8Array, ctx: UpdateContext): StepResult {
    const req = decodeStartFirmwareUpdate(payload);
    if (!req) return result(UPDATE_ERROR.BAD_DATA);
    this.cancel();
    if (req.format !== 0) return result(UPDATE_ERROR.NOT_SUPPORTED);
    const refused = ctx.refusal('start');
    if (refused !== undefined) return result(refused);
    if (!ctx.updatesEnabled) return result(UPDATE_ERROR.OTA_UPDATES_DISABLED);
    if (req.size === 0 || req.size > ctx.layout.otaSize) return result(UPDATE_ERROR.OTA_INVALID_SIZE);
    this.transfer = { data: new Uint8Array(req.size).fill(0xff), offset: 0 };
    return {
      result: 0,
      reply: encodeStartFirmwareUpdateReply(UPDATE_CHUNK_SIZE),
      deviceMs: otaEraseMs(this.timing, req.size),
    };
  }

  data(payload: Uint8Array, ctx: UpdateContext): StepResult {
    const fail = (code: number): StepResult => {
      this.cancel();
      return result(code);
    };
    const req = decodeFirmwareUpdateData(payload);
    if (!req) return fail(UPDATE_ERROR.BAD_DATA);
    const t = this.transfer;
    if (!t) return fail(UPDATE_ERROR.INVALID_STATE);
    const refused = ctx.refusal('data');
    if (refused !== undefined) return fail(refused);
    const n = req.data.length;
    if (n === 0 || n > t.data.length - t.offset) return fail(UPDATE_ERROR.OUT_OF_RANGE);
    t.data.set(req.data, t.offset);
    t.offset += n;
    return result(0, otaProgramMs(this.timing, n));
  }

  /**
   * FINISH: on success with validate_only false, returns the modules to apply; the transfer is
   * handed over (a later START starts afresh).
   */
  finish(payload: Uint8Array, ctx: UpdateContext): StepResult & { apply?: readonly ValidatedModule[] } {
    const t = this.transfer;
    this.cancel();
    const req = decodeFinishFirmwareUpdate(payload);
    if (!req) return result(UPDATE_ERROR.BAD_DATA);
    if (!t || t.offset < t.data.length) return result(UPDATE_ERROR.INVALID_STATE);
    const refused = ctx.refusal('finish');
    if (refused !== undefined) return result(refused);
    const v = validateOtaImage(t.data, ctx);
    if (!v.ok) return result(v.result);
    if (req.validateOnly) return result(0);
    return { result: 0, deviceMs: 0, apply: v.modules };
  }
}

/** validityResultToSystemError (ota_flash_hal.cpp): the first failed check, in this order. */
const validityError = (passed: number, checked: number): number => {
  const failed = (flag: number) => (checked & flag) !== 0 && (passed & flag) === 0;
  if (passed === checked) return 0;
  if (failed(VALID.INTEGRITY)) return UPDATE_ERROR.OTA_INTEGRITY_CHECK_FAILED;
  if (failed(VALID.DEPENDENCIES) || failed(VALID.DEPENDENCIES_FULL))
    return UPDATE_ERROR.OTA_DEPENDENCY_CHECK_FAILED;
  if (failed(VALID.RANGE)) return UPDATE_ERROR.OTA_INVALID_ADDRESS;
  if (failed(VALID.PLATFORM)) return UPDATE_ERROR.OTA_INVALID_PLATFORM;
  return UPDATE_ERROR.OTA_VALIDATION_FAILED;
};

/**
 * validate_module_dependencies(bounds, userOptional = true, fullDeps = true): a user part's
 * dependencies are optional over USB; a second dependency on the bootloader is skipped; each other
 * dependency must be installed at a version at least the one required. With fullDeps, a new system
 * part must still satisfy the installed system parts that depend on it.
 */
const dependenciesOk = (m: ModuleImage, ctx: UpdateContext): boolean => {
  const installed = (func: number, index: number) =>
    ctx.layout.bounds.some((b) => b.func === func && b.index === index)
      ? ctx.modules.find((x) => x.func === func && x.index === index)
      : undefined;
  const satisfied = (d: { func: number; index: number; version: number }) =>
    (installed(d.func, d.index)?.version ?? -1) >= d.version;
  const [dep1, dep2] = m.slots;
  let valid = true;
  // An empty first slot ends the check (the second is then not looked at), as in Device OS.
  if (dep1.func !== 0 && m.func !== MODULE_FUNCTION.USER_PART) {
    valid = satisfied(dep1);
    if (dep2.func !== 0 && dep2.func !== MODULE_FUNCTION.BOOTLOADER) valid = valid && satisfied(dep2);
  }
  if (valid && m.func === MODULE_FUNCTION.SYSTEM_PART) {
    for (const s of ctx.modules) {
      if (s.func !== MODULE_FUNCTION.SYSTEM_PART || s.index === m.index) continue;
      for (const d of s.dependencies ?? []) {
        if (d.func === m.func && d.index === m.index && m.version < d.version) valid = false;
      }
    }
  }
  return valid;
};

/** fetchModules + validateModules (ota_flash_hal.cpp): the verdict Device OS gives at FINISH. */
export const validateOtaImage = (
  image: Uint8Array,
  ctx: UpdateContext,
): { ok: true; modules: ValidatedModule[] } | { ok: false; result: number } => {
  const fetched: { image: ModuleImage; offset: number; checked: number; passed: number }[] = [];
  let offset = 0;
  let room = ctx.layout.otaSize;
  for (;;) {
    const m = readModuleImage(image, offset, ctx.layout.prefixRule);
    if (!m) return { ok: false, result: UPDATE_ERROR.OTA_MODULE_NOT_FOUND };
    if (m.func === MODULE_FUNCTION.ASSET) {
      // fetch_module returns assets unchecked; releases before assets have no bounds for them.
      if (!ctx.features.assets) return { ok: false, result: UPDATE_ERROR.OTA_MODULE_NOT_FOUND };
      fetched.push({ image: m, offset, checked: 0, passed: 0 });
    } else {
      if (!boundsFor(ctx.layout, m.func, m.index, m.end))
        return { ok: false, result: UPDATE_ERROR.OTA_MODULE_NOT_FOUND };
      const checked =
        VALID.RANGE | VALID.DEPENDENCIES | VALID.PLATFORM | VALID.INTEGRITY | VALID.DEPENDENCIES_FULL;
      let passed = VALID.RANGE;
      if (m.platformId === ctx.platform.id) passed |= VALID.PLATFORM;
      if (dependenciesOk(m, ctx)) passed |= VALID.DEPENDENCIES | VALID.DEPENDENCIES_FULL;
      if (m.crcOk) passed |= VALID.INTEGRITY;
      fetched.push({ image: m, offset, checked, passed });
    }
    if ((m.flags & MODULE_FLAG.COMBINED) === 0) break;
    const size = m.length + 4;
    if (room < size) return { ok: false, result: UPDATE_ERROR.OTA_INVALID_SIZE };
    offset += size;
    room -= size;
  }
  const modules: ValidatedModule[] = [];
  for (const f of fetched.slice(0, MAX_COMBINED)) {
    const m = f.image;
    if (f.passed !== f.checked) return { ok: false, result: validityError(f.passed, f.checked) };
    const drop = (m.flags & MODULE_FLAG.DROP_MODULE_INFO) !== 0;
    const compressed = (m.flags & MODULE_FLAG.COMPRESSED) !== 0;
    if (m.infoOffset > 0 && (drop || compressed))
      return { ok: false, result: UPDATE_ERROR.OTA_INVALID_FORMAT };
    if (
      compressed &&
      m.func !== MODULE_FUNCTION.USER_PART &&
      m.func !== MODULE_FUNCTION.SYSTEM_PART &&
      m.func !== MODULE_FUNCTION.ASSET
    ) {
      return { ok: false, result: UPDATE_ERROR.OTA_UNSUPPORTED_MODULE };
    }
    if (m.func === MODULE_FUNCTION.NCP) {
      if (ctx.layout.updatableNcps.length === 0)
        return { ok: false, result: UPDATE_ERROR.OTA_UNSUPPORTED_MODULE };
      if (!ctx.layout.updatableNcps.includes(m.mcuTarget))
        return { ok: false, result: UPDATE_ERROR.OTA_INVALID_PLATFORM };
    } else if (m.func === MODULE_FUNCTION.BOOTLOADER) {
      // A protected device (or one in Service Mode) only takes a bootloader that keeps it protected.
      if (ctx.protectedOrService && m.index === 0 && !m.protected)
        return { ok: false, result: UPDATE_ERROR.PROTECTED };
    } else if (m.func === MODULE_FUNCTION.SYSTEM_PART) {
      if (ctx.protectedOrService && m.version < 6000) return { ok: false, result: UPDATE_ERROR.PROTECTED };
    }
    const bytes = new Uint8Array(m.length + 4).fill(0xff);
    bytes.set(image.subarray(f.offset, Math.min(image.length, f.offset + m.length + 4)));
    modules.push({ image: m, bytes });
  }
  return { ok: true, modules };
};
