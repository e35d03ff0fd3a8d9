import { hostname, userInfo } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { isEnvVarName } from '../../cloud/token';
import type { LsError } from '../../errors/result';
import { labelCounts } from '../../labels/index';
import { type LineStatus, lineStatusLine } from '../../line-db/status';
import { platformByName } from '../../platforms/lookup';
import { deviceOsFeatures, portPaths, SimBus, SimDevice } from '../../sim/index';
import { simListeningOpener, simSerialPorts } from '../../sim/serial-bridge';
import { labelEventLines } from '../../station/labels';
import { operatorError } from '../../station/operator-errors';
import { loadProfile } from '../../station/profile';
import { batchDetails, slotLine } from '../../station/report';
import { openSession, type Session } from '../../station/session';
import { faultsFor, parseSimFaults } from '../../station/sim-faults';
import { SimOperator } from '../../station/sim-operator';
import type { StationEvent } from '../../station/station';
import type { AttemptRecord } from '../../store/records';
import { takeoverNotice } from '../../store/station-lock';
import { batchStats } from '../../store/stats';
import { NodeUsbTransport } from '../../usb/node-usb';
import { listSerialPorts } from '../../usb/serial-ports';
import type { UsbTransport } from '../../usb/transport';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import { atLeastOne, collect, DATA_DIR_HELP, nonNegativeNumber, positiveNumber } from '../options';
import type { RegisterCommand } from './index';

export interface RunOptions {
  profile: string;
  batch: string;
  operator?: string;
  station?: string;
  dataDir?: string;
  simulate?: number;
  simFaults?: string;
  /** Simulation only: the Device OS the simulated devices run when they are plugged in. */
  simDeviceOs?: SimDeviceOs;
  /** Simulation only: the simulated devices have Device Protection on. */
  simProtected?: boolean;
  timeScale?: number;
  count?: number;
  offline?: boolean;
  accept: string[];
  engineer?: string;
  /** Seconds each start-up cloud check waits out transient answers (default 30; 0 asks once). */
  cloudWait?: number;
  /** The variable holding the line database URL (default LINESTATION_LINE_DB). */
  lineDbEnv?: string;
  /** Stations of the line leaving through this station's public IP (their share of the cloud's rate limit). */
  stationsSharingIp?: number;
  json?: boolean;
}

export interface SimDeviceOs {
  /** As Particle writes a release: 3.3.1. */
  readonly version: string;
  /** As the device reports its system part: 3301. */
  readonly systemModuleVersion: number;
}

/** `--sim-device-os 3.3.1`: a release number, and the module version Device OS numbers it with. */
export const parseSimDeviceOs = (value: string): SimDeviceOs => {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(value);
  const [major, minor, patch] = (m ?? []).slice(1).map(Number);
  // Device OS module versions are major·1000 + minor·100 + patch (6.2.1 = 6201).
  if (major === undefined || minor === undefined || patch === undefined || minor > 9 || patch > 99)
    throw new InvalidArgumentError('must be a Device OS release such as 3.3.1 or 6.1.0.');
  return { version: value, systemModuleVersion: major * 1000 + minor * 100 + patch };
};

/** How often a run repeats the line-database status line while something is left to say. */
const LINE_STATUS_EVERY_MS = 30_000;

/** The run's last word on the line database, after the station closed. */
const lineSummary = (s: LineStatus): string =>
  s.behind === 0
    ? `Line database: every record forwarded to ${s.target} (station ${s.stationName}, ${s.stationId}).`
    : `Line database: ${s.behind} record(s) not forwarded yet${s.error ? ` (${s.error.code}: ${s.error.message})` : ''}. They are kept in the station log and sent at the next run with the line database.`;

const sec = (ms: number | null | undefined): string => (ms == null ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** What identify read besides the ID, for the identified line: `, serial S013…, ICCID 8988…`. */
const identityWords = (a: AttemptRecord): string =>
  [a.serialNumber ? `serial ${a.serialNumber}` : '', a.iccid ? `ICCID ${a.iccid}` : '']
    .filter(Boolean)
    .map((w) => `, ${w}`)
    .join('');

/** One line per event for logs and pipes. */
const eventLine = (e: StationEvent, ota = false): string | undefined => {
  switch (e.type) {
    case 'attempt-started':
      return `slot ${e.slot} ${e.attempt.portPath} started attempt #${e.attempt.id}`;
    case 'identified':
      return `slot ${e.slot} ${e.attempt.deviceId} ${e.attempt.platform} try ${e.attempt.tryNumber}${identityWords(e.attempt)}${e.attempt.lineCheck && e.attempt.lineCheck !== 'ok' ? ` (line: ${e.attempt.lineCheck})` : ''}`;
    case 'step':
      return `slot ${e.slot} ${e.step}`;
    case 'attempt-finished': {
      const a = e.attempt;
      const id = a.deviceId ?? a.portPath;
      if (a.result === 'pass')
        return `slot ${e.slot} ${id} PASS in ${sec(a.durationMs)} (${a.registrationState}${ota ? ', pending OTA' : ''})${e.simProblem ? `: ${operatorError(e.simProblem.code).title}: ${e.simProblem.message}` : ''}`;
      if (a.result === 'skipped')
        return e.title && e.title !== 'Already provisioned'
          ? `slot ${e.slot} ${id} ${e.title.charAt(0).toLowerCase()}${e.title.slice(1)} (not re-flashed)`
          : `slot ${e.slot} ${id} already provisioned in this batch (not re-flashed)`;
      return `slot ${e.slot} ${id} ${a.result === 'interrupted' ? 'INTERRUPTED' : 'FAIL'} at ${a.step}: ${e.title} (${a.errorCode}). ${a.errorRemedy ?? ''}`;
    }
    case 'retrying':
      return `slot ${e.slot} retrying ${e.deviceId ?? ''} (try ${e.tryNumber})`;
    case 'slot-refused':
      return `device on ${e.portPath} ignored: ${e.reason}`;
    case 'target-reached':
      return `target reached: ${e.passed} devices passed`;
    case 'fatal':
      return `STOPPED: ${e.error.code}: ${e.error.message} ${e.error.remedy ?? ''}`;
    default:
      return undefined;
  }
};

const printRefusal = (io: CliIo, e: LsError, json: boolean): never => {
  if (json)
    printJson(io, {
      type: 'refused',
      code: e.code,
      message: e.message,
      remedy: e.remedy,
      details: e.details,
    });
  else io.err(`linestation: ${e.code}: ${e.message}${e.remedy ? ` ${e.remedy}` : ''}`);
  throw new CliExit(ExitCode.NotReady);
};

/** The run command's body, shared with the demo. Resolves to the exit code. */
export const runStation = async (io: CliIo, opts: RunOptions): Promise<number> => {
  const json = Boolean(opts.json);
  const simulate = opts.simulate;
  const timeScale = opts.timeScale ?? 1;
  const faults = parseSimFaults(opts.simFaults);
  if (!faults.ok) return printRefusal(io, faults.error, json);
  for (const [given, flag] of [
    [opts.simFaults, '--sim-faults'],
    [opts.simDeviceOs, '--sim-device-os'],
    [opts.simProtected, '--sim-protected'],
  ] as const)
    if (given && !simulate)
      return printRefusal(io, { code: 'USAGE', message: `${flag} needs --simulate N.` }, json);
  if (simulate && opts.simProtected) {
    // Refused here, before a batch is opened: a simulated device that cannot be protected.
    const loaded = await loadProfile(opts.profile);
    const platform = loaded.ok ? platformByName(loaded.value.profile.platform) : undefined;
    const version = opts.simDeviceOs?.version ?? '6.2.1';
    if (platform && !deviceOsFeatures(version, platform).protection)
      return printRefusal(
        io,
        {
          code: 'USAGE',
          message: `--sim-protected needs Device OS 6.0 or later on a Gen 3 or later device; the simulated ${platform.name} runs ${version}.`,
          remedy: 'Leave out --sim-device-os, or give 6.1.1 or later (Service Mode came with 6.1.1).',
        },
        json,
      );
  }
  // A URL here would sit in the process list and the shell history; the refusal does not echo it.
  if (opts.lineDbEnv !== undefined && !isEnvVarName(opts.lineDbEnv))
    return printRefusal(
      io,
      {
        code: 'USAGE',
        message: '--line-db-env takes the NAME of an environment variable, not a URL or a password.',
        remedy: 'Put the URL in a variable (export LINESTATION_LINE_DB=postgres://…) and pass its name.',
      },
      json,
    );

  const sim = simulate ? new SimBus() : undefined;
  const transport: UsbTransport = sim ?? new NodeUsbTransport();
  if (!sim) {
    try {
      await transport.list();
    } catch (e) {
      const error = e as { error?: LsError };
      return printRefusal(
        io,
        error.error ?? {
          code: 'USB_UNAVAILABLE',
          message: String(e),
          remedy: 'Check the USB bus, or try --simulate N.',
        },
        json,
      );
    }
  }
  const engineer = opts.engineer ?? opts.operator ?? userInfo().username;
  const at = new Date().toISOString();
  const opened = await openSession({
    profilePath: opts.profile,
    lot: opts.batch,
    operator: opts.operator ?? userInfo().username,
    station: opts.station ?? hostname(),
    dataDir: opts.dataDir,
    env: io.env,
    targetCount: opts.count ?? simulate,
    offline: Boolean(opts.offline),
    acceptances: opts.accept.map((item) => ({ item, by: engineer, at })),
    transport,
    simulated: Boolean(sim),
    // The simulator's re-enumeration is scaled; so is how long we wait for it (never below 1 s).
    pollMs: sim ? Math.max(5, Math.round(500 * timeScale)) : undefined,
    reenumerationTimeoutMs: sim ? Math.max(1000, Math.round(30_000 * timeScale)) : undefined,
    retryDelayMs: sim ? Math.max(1, Math.round(500 * timeScale)) : undefined,
    registerWaitMs: 2000,
    lineDbEnv: opts.lineDbEnv,
    stationsSharingIp: opts.stationsSharingIp,
    // The listening-mode fallback of identify (the Electron's ICCID) needs the devices' serial ports.
    serialPorts: sim ? simSerialPorts(sim) : listSerialPorts,
    ...(sim ? { openSerial: simListeningOpener(sim) } : {}),
    cloudWaitMs: opts.cloudWait === undefined ? undefined : Math.round(opts.cloudWait * 1000),
    // The operator sees why nothing happens yet; a refusal still follows if the cloud never answers.
    onCloudWait: (w) =>
      io.out(
        json
          ? JSON.stringify({
              type: 'cloud-wait',
              code: w.code,
              ...(w.status === undefined ? {} : { status: w.status }),
              tries: w.tries,
              retryInMs: w.retryInMs,
              message: w.message,
              at: new Date().toISOString(),
            })
          : w.message,
      ),
  });
  if (!opened.ok) return printRefusal(io, opened.error, json);
  const session: Session = opened.value;
  const { station, log } = session;
  const batchId = session.batch.id;
  if (!json) {
    io.out(
      `${session.resumed ? 'Resuming' : 'Started'} batch ${session.batch.lot}: ${session.loaded.profile.product.name}, ${session.batch.platform}, ${session.batch.mode}, ${session.policy.slotCount} slot(s)${session.batch.targetCount !== null ? `, target ${session.batch.targetCount}` : ''}.`,
    );
    if (session.tookOverFrom) io.out(takeoverNotice(session.tookOverFrom));
    if (session.recovered > 0)
      io.out(`${session.recovered} attempt(s) left running by a previous run were marked interrupted.`);
  } else
    printJson(io, {
      type: 'batch',
      batch: session.batch,
      resumed: session.resumed,
      recovered: session.recovered,
      tookOverFrom: session.tookOverFrom,
    });

  // Output: JSON lines, a live block per slot on a terminal, or one line per event.
  const live = io.isTTY && !json;
  let drawn = 0;
  /** A line above the live block (or plain), for messages that are not station events. */
  const say = (text: string) => {
    if (live && drawn > 0) {
      io.out(`\x1b[${drawn}A\x1b[0J${text}`);
      drawn = 0;
    } else io.out(text);
  };
  const render = () => {
    if (!live) return;
    // Move up over the block drawn last time, then rewrite each line in place (ANSI CUU + EL).
    const up = drawn > 0 ? `\x1b[${drawn}A` : '';
    station.views().forEach((v, i) => {
      io.out(`${i === 0 ? up : ''}\x1b[2K${slotLine(v)}`);
    });
    drawn = station.views().length;
  };
  const ticker = live ? setInterval(render, 250) : undefined;

  // The line database: its state as it changes, and again every 30 s while something is pending.
  const line = session.line;
  let lastLine = '';
  const tellLine = (s: LineStatus, force = false) => {
    const text = lineStatusLine(s);
    if (!force && text === lastLine) return;
    lastLine = text;
    if (json) io.out(JSON.stringify({ type: 'line-status', ...s, at: new Date().toISOString() }));
    else {
      say(text);
      render();
    }
  };
  const unsubscribeLine = line?.forwarder.subscribe((e) => {
    if (e.type === 'state') tellLine(e.status);
  });
  if (line) {
    if (!json)
      say(`Line database: ${line.status().target} as station ${session.batch.station} (${line.stationId}).`);
    tellLine(line.status());
  }
  const lineTicker = line
    ? setInterval(() => {
        const s = line.status();
        if (s.state !== 'connected' || s.behind > 0 || s.warnings.length > 0) tellLine(s, true);
      }, LINE_STATUS_EVERY_MS)
    : undefined;

  // A holder, not a let: callbacks set it and TypeScript would otherwise narrow it to its first value.
  const stop: { reason: 'target' | 'operator-done' | 'interrupted' | 'fatal' } = { reason: 'interrupted' };
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    finish = r;
  });
  // Printed and failed labels, and a printer problem once when it starts (not at every retry).
  const tellLabel = labelEventLines();
  const textOf = (e: StationEvent): string | undefined =>
    e.type === 'label'
      ? tellLabel(e)
      : e.type === 'label-error'
        ? `labels: the label queue could not be read or written: ${e.message}`
        : eventLine(e, session.batch.mode === 'ota-on-setup');
  station.on((e) => {
    if (json) {
      if (e.type !== 'slot-idle') io.out(JSON.stringify({ ...e, at: new Date().toISOString() }));
    } else if (live) {
      if (
        e.type === 'attempt-finished' ||
        e.type === 'fatal' ||
        e.type === 'target-reached' ||
        e.type === 'label' ||
        e.type === 'label-error'
      ) {
        const line = textOf(e);
        if (line) {
          // Results scroll up above the live block: clear the block, print, redraw below.
          io.out(`${drawn > 0 ? `\x1b[${drawn}A\x1b[0J` : ''}${line}`);
          drawn = 0;
          render();
        }
      }
    } else if (e.type !== 'progress') {
      const line = textOf(e);
      if (line) io.out(line);
    }
    if (e.type === 'target-reached') {
      stop.reason = 'target';
      finish();
    }
    if (e.type === 'fatal') {
      stop.reason = 'fatal';
      finish();
    }
  });
  // A target already met (a resumed batch that was complete) ends at once.
  if (session.batch.targetCount !== null && log.passedCount(batchId) >= session.batch.targetCount) {
    stop.reason = 'target';
    finish();
  }

  const onSigint = () => {
    stop.reason = 'interrupted';
    finish();
  };
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);

  let operator: SimOperator<SimDevice> | undefined;
  try {
    await station.start();
    if (sim && simulate) {
      const image = session.plan.steps.find((st) => st.path === 'dfu')?.image;
      const span = image ? { address: image.address, size: image.data.length } : { address: 0, size: 1 };
      const platform = session.batch.platform;
      operator = new SimOperator({
        station,
        bus: sim,
        ports: portPaths(Math.min(simulate, session.policy.slotCount)),
        devices: simulate,
        makeDevice: (i) => {
          const choice = faultsFor(faults.value, i, span);
          return new SimDevice({
            platform: choice.wrongPlatform ? (platform === 'argon' ? 'boron' : 'argon') : platform,
            seed: `${session.batch.lot}:${i}`,
            timeScale,
            faults: choice.faults,
            ...(opts.simDeviceOs
              ? {
                  deviceOs: opts.simDeviceOs,
                  // Fresh from the factory: a Gen 3 device before Device OS 4.0 is not set up yet
                  // and boots into listening mode (the release decides whether the flag exists).
                  setupDone: false,
                }
              : {}),
            ...(opts.simProtected ? { protection: 'protected' as const } : {}),
          });
        },
      });
      operator.start();
      void operator.done.then(() => {
        if (stop.reason !== 'target') stop.reason = 'operator-done';
        finish();
      });
    }
    await finished;
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
    operator?.stop();
    await station.stop();
    if (ticker) clearInterval(ticker);
    if (lineTicker) clearInterval(lineTicker);
    render();
  }

  // A batch that reached its target is complete and closed; otherwise it waits to be resumed.
  const current = log.requireBatchById(batchId);
  if (current.state !== 'closed') {
    if (stop.reason === 'target')
      log.setBatchState(batchId, 'closed', session.batch.operator, { reason: 'target reached' });
    else if (current.state === 'running')
      log.setBatchState(batchId, 'paused', session.batch.operator, { reason: stop.reason });
  }
  await session.close({ flushMs: stop.reason === 'fatal' ? 0 : 5000 });
  unsubscribeLine?.();
  const lineAtEnd = line?.status();
  sim?.dispose();

  // Re-open read-only view for the summary (the session closed its handle).
  const { openStationLog } = await import('../../station/report');
  const { log: after } = openStationLog(session.dataDir, io.env);
  try {
    const b = after.requireBatchById(batchId);
    const stats = batchStats(after, b.lot);
    // Devices whose latest attempt failed and that never passed count as failed (an attempt cut
    // short by Ctrl-C is interrupted, not failed: the device simply runs again on resume).
    const unresolved = (
      after.db
        .prepare(
          `SELECT COUNT(*) AS n FROM attempts a WHERE a.batch_id = ? AND a.device_id IS NOT NULL
             AND a.id = (SELECT MAX(id) FROM attempts b WHERE b.batch_id = a.batch_id AND b.device_id = a.device_id)
             AND a.result = 'fail'
             AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.batch_id = a.batch_id AND c.device_id = a.device_id AND c.result = 'pass')`,
        )
        .get(batchId) as { n: number }
    ).n;
    // The simulated devices can run out before K passed: the batch is then paused, not complete.
    const passed = after.passedCount(batchId);
    const targetReached = b.targetCount === null ? null : passed >= b.targetCount;
    const short = stop.reason === 'operator-done' && targetReached === false;
    // Labels still pending are kept in the log and printed by the next run on this data folder.
    const labels = session.labels ? labelCounts(after.db, batchId) : undefined;
    if (json)
      printJson(io, {
        type: 'summary',
        stopReason: stop.reason,
        targetReached,
        batch: b,
        stats,
        unresolvedDevices: unresolved,
        operator: operator?.report(),
        lineDatabase: lineAtEnd ?? null,
        labels: labels ?? null,
      });
    else {
      io.out('');
      for (const line of batchDetails(b, stats)) io.out(line);
      if (operator) {
        const r = operator.report();
        io.out(`Simulated operator: ${r.plugged} plugged, ${r.reseated} re-seated, ${r.setAside} set aside.`);
      }
      io.out(
        stop.reason === 'interrupted'
          ? `Stopped by the operator; resume with the same command.`
          : stop.reason === 'fatal'
            ? 'Stopped: the station log could not be written (see above); nothing logged so far was lost.'
            : stop.reason === 'target'
              ? 'Batch complete.'
              : 'All simulated devices were handled.',
      );
      if (lineAtEnd) io.out(lineSummary(lineAtEnd));
      if (labels)
        io.out(
          `Labels: ${labels.printed} printed, ${labels.pending} pending, ${labels.failed} not printable.${labels.pending > 0 ? ' The pending ones are kept and print at the next run on this data folder (linestation labels lists them).' : ''}`,
        );
      if (short)
        io.out(
          `Target not reached: ${passed} of ${b.targetCount} devices passed. The batch is paused: run the same command with more simulated devices (--simulate N) to resume it.`,
        );
    }
    if (stop.reason === 'fatal' || unresolved > 0) return ExitCode.Failed;
    if (short) return ExitCode.TargetNotReached;
    return ExitCode.Ok;
  } finally {
    after.close();
  }
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('run')
    .description('run a batch: provision every device plugged into a slot until the target count passed')
    .requiredOption('--profile <file>', 'locked product profile')
    .requiredOption('--batch <lot>', 'lot ID (an unfinished lot is resumed)')
    .option('--operator <name>', 'operator name (default: the OS user)')
    .option('--station <name>', 'station name (default: the host name)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--simulate <n>', 'simulate N devices plugged into the slots in turn', atLeastOne)
    .option('--sim-faults <spec>', 'simulated faults, e.g. "unplug=0.2,verify=0.05,seed=7"')
    .option(
      '--sim-device-os <version>',
      'simulation only: the Device OS the simulated devices run when plugged in, e.g. 3.3.1 (default 6.2.1)',
      parseSimDeviceOs,
    )
    .option(
      '--sim-protected',
      'simulation only: the simulated devices have Device Protection on (the profile must declare deviceProtection)',
    )
    .option('--time-scale <x>', 'simulated device timing scale (1 = real time)', positiveNumber)
    .option('--count <k>', 'stop when K devices have passed (default: N with --simulate)', atLeastOne)
    .option('--offline', 'queue registrations instead of sending them (needs --accept offline)')
    .option(
      '--accept <item>',
      'an engineer accepts an open readiness item (repeatable): offline, firmware-set, questions',
      collect,
      [],
    )
    .option('--engineer <name>', 'who accepts (default: the operator)')
    .option(
      '--cloud-wait <seconds>',
      'how long each start-up cloud check waits out 429/5xx/timeouts/dropped connections before refusing (default 30, 0 = ask once)',
      nonNegativeNumber,
    )
    .option(
      '--line-db-env <name>',
      'environment variable holding the line database URL (default LINESTATION_LINE_DB; unset = no line database)',
    )
    .option(
      '--stations-sharing-ip <n>',
      'stations of the line that reach the Particle Cloud through the same public IP address (default 1): this station keeps to its share of the 10,000 requests per 5 minutes',
      atLeastOne,
    )
    .option('--json', 'JSON lines: one per event, then a summary')
    .action(async (opts: RunOptions) => {
      const code = await runStation(io, opts);
      if (code !== ExitCode.Ok) throw new CliExit(code as ExitCode);
    });
};
