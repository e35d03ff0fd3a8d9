import { err, type LsError, ok, type Result, toLsError } from '../errors/result';
import type { ModuleFunctionName, ModuleInfo } from '../firmware/types';
import { sleep } from '../time/sleep';
import { normalizeDeviceId, recognise } from '../usb/identity';
import type { UsbDeviceHandle, UsbDeviceInfo, UsbTransport } from '../usb/transport';
import type { ControlRequestOptions } from './control-client';
import { Deadline } from './deadline';
import { type SentFirmware, sendFirmware } from './firmware-update';
import { enterListeningMode, type ListeningOutcome, stopListening } from './listening-mode';
import { type ExpectedModule, findModule, type HashCheck, verifyInstalledModule } from './module-verify';
import { type DeviceAsset, getAssetInfo, getModuleInfo } from './requests';
import { isTransientUpdateError, type UpdateErrorCode, type UpdateFormat } from './update-errors';
import { type NormalUpdateListener, type NormalUpdatePhase, UpdateProgress } from './update-progress';
import { waitForDevice } from './wait-device';

/*
 * One module installed in normal mode, start to proof: listening mode, START/DATA/FINISH, the
 * device's reset, and GET_MODULE_INFO showing the module at its new version. This is the path for
 * what DFU cannot write: bootloaders (read-only in Gen 2/3 DFU layouts) and NCP firmware.
 *
 * Particle's sequence (particle-cli src/lib/flash-helper.js `_flashDeviceInNormalMode`): enter
 * listening mode ignoring errors, `updateFirmware` with a 4-minute budget, and on any error but a
 * protection error start the module over. We start over only on failures that can pass (USB
 * glitches, a busy device, a transfer the device cancelled); a refusal answers the same every time.
 *
 * The slot's identity holds throughout: the device must come back on the same port path with the
 * same device ID (wait-device.ts), and nothing here holds a handle while the device resets.
 */

export interface NormalModeImage {
  /** The whole module file, prefix to CRC, as the device validates it. */
  readonly data: Uint8Array;
  readonly module: ExpectedModule;
  /** For people: the file name. */
  readonly label?: string | undefined;
  /**
   * For an asset: the name and content SHA-256 (HASH record) GET_ASSET_INFO must list after the
   * reset. The name is the file name, as particle-cli names assets.
   */
  readonly asset?: { readonly name: string; readonly hash: string | undefined } | undefined;
}

const baseName = (label: string): string => label.split(/[\\/]/).pop() ?? label;

/** The image for a module parsed by core/firmware. */
export const normalModeImage = (data: Uint8Array, info: ModuleInfo, label?: string): NormalModeImage => ({
  data,
  module: { function: info.function, index: info.index, version: info.version, sha256: info.fwUniqueId },
  label,
  ...(info.function === 'asset'
    ? { asset: { name: baseName(label ?? ''), hash: info.contentHash?.toLowerCase() } }
    : {}),
});

export interface NormalUpdateOptions {
  /** The whole operation, listening mode to verification. Default: `defaultUpdateTimeoutMs`. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
  /** Tries from START, including the first. Default 3. */
  readonly maxAttempts?: number;
  /** Wait before a retry; multiplied by the attempt number. Default 1 s. */
  readonly retryDelayMs?: number;
  readonly onProgress?: NormalUpdateListener;
  /** How often the phases without byte movement are re-announced. Default 1 s; 0 turns it off. */
  readonly heartbeatMs?: number;
  /** Ask for listening mode before START, as Particle's tools do. Default true. */
  readonly enterListening?: boolean;
  /** How long to wait for listening mode. Default 10 s. */
  readonly listeningTimeoutMs?: number;
  /**
   * How long the device may stay off the bus once it has reset. Default 60 s (particle-usb waits
   * as long for a device to reopen); the time it spends installing NCP firmware before it resets
   * is not counted here, only in `timeoutMs`.
   */
  readonly rebootTimeoutMs?: number;
  /** Poll interval of the mode and bus waits. Default 500 ms (particle-usb's). */
  readonly pollMs?: number;
  readonly format?: UpdateFormat;
  /** Per-request knobs (transfer timeout, CHECK back-off). */
  readonly request?: Omit<ControlRequestOptions, 'signal' | 'timeoutMs'>;
}

export interface VerifiedModule {
  readonly function: ModuleFunctionName | number;
  readonly index: number;
  readonly version: number;
  /** The module's version before the update, when the device reported it. */
  readonly previousVersion: number | undefined;
  /** The SHA-256 the device reports for the module after the update. */
  readonly hash: string | undefined;
  readonly hashCheck: HashCheck;
  /** The device as it came back (a new enumeration on the same port). */
  readonly device: UsbDeviceInfo;
  readonly idConfirmed: boolean;
  readonly attempts: number;
  readonly chunkSize: number;
  readonly listening: ListeningOutcome | 'skipped';
  readonly elapsedMs: number;
  /** Time spent per phase, over all attempts. */
  readonly phaseMs: Readonly<Record<NormalUpdatePhase, number>>;
}

/** NCP firmware is flashed into the radio module before the device resets: minutes (particle-cli: 4). */
export const defaultUpdateTimeoutMs = (fn: ModuleFunctionName | number): number =>
  fn === 'ncp' ? 240_000 : 120_000;

const GONE = new Set(['USB_DISCONNECTED', 'USB_NOT_FOUND']);
const VERIFY_READS = 3;
const REQUEST_MS = 5_000;

type Failure = { ok: false; error: LsError<UpdateErrorCode> };

/** After the reset, GET_ASSET_INFO does not list the asset with its name and content hash. */
const assetNotApplied = (
  asset: { readonly name: string; readonly hash: string | undefined },
  held: readonly DeviceAsset[],
): LsError<UpdateErrorCode> => ({
  code: 'DEVICE_UPDATE_NOT_APPLIED',
  message: `The device restarted but does not list the asset ${asset.name} with the content hash it was sent: the update was not applied.`,
  remedy:
    'Retry the update; if the asset is still missing, check that the device runs Device OS 5.5 or later.',
  details: { asset: asset.name, hash: asset.hash, reported: held.map((a) => `${a.name}:${a.hash}`) },
});

const tag = (error: LsError, phase: NormalUpdatePhase, attempts: number): LsError<UpdateErrorCode> =>
  ({ ...error, details: { ...(error.details ?? {}), phase, attempts } }) as LsError<UpdateErrorCode>;

export const updateModuleNormalMode = async (
  transport: UsbTransport,
  device: UsbDeviceInfo,
  image: NormalModeImage,
  options: NormalUpdateOptions = {},
): Promise<Result<VerifiedModule, UpdateErrorCode>> => {
  const expected = image.module;
  if (image.data.length === 0)
    return err('DEVICE_UPDATE_EMPTY_IMAGE', 'The firmware image is empty; there is nothing to send.', {
      remedy: 'Check the product profile: the module file is missing or empty.',
    });
  // Assets are checked with GET_ASSET_INFO (91), by name and content hash, not with module info;
  // one without a name or HASH record could not be verified, and an unverified install never passes.
  const asset = expected.function === 'asset' ? image.asset : undefined;
  if (expected.function === 'asset' && (!asset?.name || !asset.hash))
    return err(
      'DEVICE_UPDATE_ASSET_UNSUPPORTED',
      'The asset has no file name or no HASH record, so its installation could not be verified.',
      { remedy: 'Build the asset with Particle tools (they add the HASH record) and name its file.' },
    );
  const r = recognise(device);
  if (r.kind !== 'particle' || r.dfu)
    return err(
      'DEVICE_WRONG_MODE',
      `The device on port ${device.portPath} is in DFU mode; a normal-mode update needs it running Device OS.`,
      {
        remedy: 'Leave DFU mode first (reset the device), then retry.',
        details: { portPath: device.portPath },
      },
    );

  const id = normalizeDeviceId(device.serialNumber);
  const deviceId = id.valid ? id.id : undefined;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const pollMs = options.pollMs ?? 500;
  const started = performance.now();
  const deadline = new Deadline(
    options.timeoutMs ?? defaultUpdateTimeoutMs(expected.function),
    options.signal,
  );
  const progress = new UpdateProgress(
    options.onProgress,
    expected.function,
    image.data.length,
    image.label,
    options.heartbeatMs ?? 1000,
  );
  const phaseMs: Record<NormalUpdatePhase, number> = {
    preparing: 0,
    sending: 0,
    applying: 0,
    rebooting: 0,
    verifying: 0,
  };
  let phase: NormalUpdatePhase = 'preparing';
  let phaseStarted = performance.now();
  const enter = (next: NormalUpdatePhase): void => {
    phaseMs[phase] += performance.now() - phaseStarted;
    phase = next;
    phaseStarted = performance.now();
    if (next !== 'sending') progress.phase(next);
  };
  let attempt = 1;
  const stopped = (): Failure => ({
    ok: false,
    error: tag(
      deadline.timedOut
        ? {
            code: 'DEVICE_UPDATE_TIMEOUT',
            message: `The ${image.label ?? 'module'} update did not finish within ${(deadline.timeoutMs / 1000).toFixed(0)} s (while ${phase}).`,
            remedy:
              expected.function === 'ncp'
                ? 'NCP updates take minutes: check the cable and retry with a longer timeout; reset the device if it stays busy.'
                : 'Check the cable; reset the device and retry.',
            details: { timeoutMs: deadline.timeoutMs },
          }
        : { code: 'ABORTED', message: 'The operation was cancelled.' },
      phase,
      attempt,
    ),
  });
  const failWith = (error: LsError): Failure => ({ ok: false, error: tag(error, phase, attempt) });
  const req = (ms: number): ControlRequestOptions => ({
    ...options.request,
    timeoutMs: deadline.cap(ms),
    signal: deadline.signal,
  });

  /** Opens `info`, runs `fn`, closes: no handle is ever held across a reset. */
  const withHandle = async <T>(
    info: UsbDeviceInfo,
    fn: (h: UsbDeviceHandle) => Promise<Result<T, UpdateErrorCode>>,
  ): Promise<Result<T, UpdateErrorCode>> => {
    let handle: UsbDeviceHandle;
    try {
      handle = await transport.open(info, { signal: deadline.signal });
    } catch (e) {
      return { ok: false, error: toLsError(e, 'USB_IO') as LsError<UpdateErrorCode> };
    }
    try {
      return await fn(handle);
    } finally {
      await handle.close().catch(() => undefined);
    }
  };

  let previousVersion: number | undefined;
  let listening: ListeningOutcome | 'skipped' = 'skipped';
  let advance: ((bytes: number) => void) | undefined;

  /** Listening mode, then START/DATA/FINISH on one handle. */
  const sendOnce = (info: UsbDeviceInfo, last: boolean) =>
    withHandle(info, async (handle): Promise<Result<SentFirmware, UpdateErrorCode>> => {
      if (attempt === 1) {
        const before = await getModuleInfo(handle, req(REQUEST_MS));
        if (before.ok) previousVersion = findModule(before.value, expected)?.version;
      }
      let weEntered = false;
      if (options.enterListening ?? true) {
        const l = await enterListeningMode(handle, {
          timeoutMs: deadline.cap(options.listeningTimeoutMs ?? 10_000),
          pollMs,
          signal: deadline.signal,
          request: { ...options.request, timeoutMs: deadline.cap(3000) },
        });
        if (!l.ok) return l;
        listening = l.value;
        weEntered = l.value === 'entered' || l.value === 'unconfirmed' || l.value === 'not-reported';
      }
      const sent = await sendFirmware(handle, image.data, {
        timeoutMs: deadline.remainingMs(),
        signal: deadline.signal,
        format: options.format,
        request: options.request,
        onStarted: () => {
          enter('sending');
          advance = progress.sending();
        },
        onData: (n) => advance?.(n),
      });
      // A device left blinking blue after a final failure looks broken to the next person; give
      // it back in the mode we found it in. A retry will ask for listening mode again anyway.
      if (!sent.ok && weEntered && (last || !isTransientUpdateError(sent.error)) && !deadline.stopped)
        await stopListening(handle, { ...options.request, timeoutMs: 2000 }).catch(() => undefined);
      return sent;
    });

  /** Until the enumeration we talked to has left the bus (the device installs, then resets). */
  const waitGone = async (key: string): Promise<Result<void, UpdateErrorCode>> => {
    let wake: (() => void) | undefined;
    const unwatch = transport.watch((e) => {
      if (e.type === 'detach' && e.device.key === key) wake?.();
    });
    try {
      for (;;) {
        if (deadline.stopped) return stopped();
        // A listing can fail while the bus re-enumerates; the next poll settles it.
        const list = await transport.list().catch(() => undefined);
        if (list && !list.some((d) => d.key === key)) return ok(undefined);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(pollMs, deadline.remainingMs()));
          const onAbort = (): void => done();
          deadline.signal.addEventListener('abort', onAbort, { once: true });
          function done(): void {
            clearTimeout(timer);
            deadline.signal.removeEventListener('abort', onAbort);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
      }
    } finally {
      unwatch();
    }
  };

  const waitBack = async (exclude: readonly string[], timeoutMs: number) => {
    const back = await waitForDevice(
      transport,
      { portPath: device.portPath, deviceId, mode: 'normal', excludeKeys: exclude },
      { timeoutMs, pollMs, signal: deadline.signal },
    );
    // The wait's own verdict (never came back, wrong mode, another ID) says more than "time is up".
    if (!back.ok && back.error.code === 'ABORTED') return stopped();
    return back;
  };

  /**
   * GET_MODULE_INFO (or GET_ASSET_INFO for an asset) after the reboot, surviving a second reset or
   * a device still starting up.
   */
  const readBack = async <T>(
    info: UsbDeviceInfo,
    readOnce: (h: UsbDeviceHandle) => Promise<Result<T, UpdateErrorCode>>,
  ): Promise<Result<{ value: T; device: UsbDeviceInfo }, UpdateErrorCode>> => {
    let current = info;
    let last: LsError<UpdateErrorCode> | undefined;
    for (let read = 0; read < VERIFY_READS; read++) {
      if (read > 0 && !(await sleep(Math.min(pollMs, deadline.remainingMs()), deadline.signal)))
        return stopped();
      const mods = await withHandle(current, readOnce);
      if (mods.ok) return ok({ value: mods.value, device: current });
      if (deadline.stopped) return stopped();
      last = mods.error;
      if (GONE.has(mods.error.code)) {
        const again = await waitBack([current.key], deadline.cap(options.rebootTimeoutMs ?? 60_000));
        if (!again.ok) return again;
        current = again.value.device;
        continue;
      }
      if (!isTransientUpdateError(mods.error)) break;
    }
    return err(
      'DEVICE_UPDATE_UNVERIFIED',
      `The device restarted but did not report its ${asset ? 'assets' : 'modules'} (${last?.code ?? 'no answer'}), so the update cannot be confirmed.`,
      {
        remedy:
          'Retry the update; if the device never reports its modules, update Device OS or set the device aside.',
        details: { cause: last?.code, causeMessage: last?.message },
      },
    );
  };

  try {
    let current = device;
    let lastError: LsError<UpdateErrorCode> | undefined;
    let leftBus = false;
    for (attempt = 1; attempt <= maxAttempts; attempt++) {
      progress.attempt = attempt;
      enter('preparing');
      if (attempt > 1) {
        const delay = (options.retryDelayMs ?? 1000) * (attempt - 1);
        if (!(await sleep(Math.min(delay, deadline.remainingMs()), deadline.signal))) return stopped();
        // The device may have reset under us: find it again on its port, by its ID.
        const found = await waitBack(leftBus ? [current.key] : [], deadline.cap(30_000));
        if (!found.ok)
          return failWith({
            ...found.error,
            details: {
              ...(found.error.details ?? {}),
              cause: lastError?.code,
              causeMessage: lastError?.message,
            },
          });
        current = found.value.device;
      }
      const sent = await sendOnce(current, attempt === maxAttempts);
      if (!sent.ok) {
        if (deadline.stopped) return stopped();
        if (!isTransientUpdateError(sent.error)) return failWith(sent.error);
        lastError = sent.error;
        leftBus = GONE.has(sent.error.code);
        continue;
      }

      enter('applying');
      const gone = await waitGone(current.key);
      if (!gone.ok) return gone;
      enter('rebooting');
      const back = await waitBack([current.key], deadline.cap(options.rebootTimeoutMs ?? 60_000));
      if (!back.ok) return failWith(back.error);
      enter('verifying');
      if (asset) {
        const assets = await readBack(back.value.device, (h) => getAssetInfo(h, req(REQUEST_MS)));
        if (!assets.ok) return failWith(assets.error);
        const held = assets.value.value.available;
        const found = held.find((a) => a.name === asset.name && a.hash === asset.hash);
        if (!found) {
          const error = assetNotApplied(asset, held);
          if (sent.value.finish === 'unconfirmed') {
            lastError = error;
            current = assets.value.device;
            leftBus = false;
            continue;
          }
          return failWith(error);
        }
        phaseMs[phase] += performance.now() - phaseStarted;
        return ok({
          function: expected.function,
          index: expected.index,
          version: expected.version,
          previousVersion,
          hash: found.hash,
          hashCheck: 'matched',
          device: assets.value.device,
          idConfirmed: back.value.idConfirmed,
          attempts: attempt,
          chunkSize: sent.value.chunkSize,
          listening,
          elapsedMs: performance.now() - started,
          phaseMs: { ...phaseMs },
        });
      }
      const read = await readBack(back.value.device, (h) => getModuleInfo(h, req(REQUEST_MS)));
      if (!read.ok) return failWith(read.error);
      const check = verifyInstalledModule(read.value.value, expected, { previousVersion });
      if (!check.ok) {
        // FINISH never confirmed and the module is not there: the transfer was lost on the way
        // (the device left the bus mid-FINISH), which is worth another try from START.
        if (check.error.code === 'DEVICE_UPDATE_NOT_APPLIED' && sent.value.finish === 'unconfirmed') {
          lastError = check.error;
          current = read.value.device;
          leftBus = false;
          continue;
        }
        return failWith(check.error);
      }
      phaseMs[phase] += performance.now() - phaseStarted;
      return ok({
        function: expected.function,
        index: expected.index,
        version: check.value.module.version,
        previousVersion,
        hash: check.value.module.hash,
        hashCheck: check.value.hashCheck,
        device: read.value.device,
        idConfirmed: back.value.idConfirmed,
        attempts: attempt,
        chunkSize: sent.value.chunkSize,
        listening,
        elapsedMs: performance.now() - started,
        phaseMs: { ...phaseMs },
      });
    }
    attempt = maxAttempts;
    return failWith(
      lastError ?? { code: 'DEVICE_UPDATE_START_FAILED', message: 'The update was never started.' },
    );
  } finally {
    progress.stop();
    deadline.dispose();
  }
};
