import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { LsError } from '../../errors/result';
import { jsonAddress } from '../../firmware/bytes';
import { hex32 } from '../../firmware/errors';
import { inspectFile } from '../../firmware/inspect';
import { validateForPlan } from '../../firmware/install-path';
import { functionName } from '../../firmware/module-parser';
import { planSet } from '../../firmware/plan-set';
import { planSummary, stepLine } from '../../firmware/plan-text';
import { parseFileArgument } from '../../firmware/raw-file';
import {
  type FlashImage,
  type InspectedFile,
  type InstalledModule,
  MODULE_FUNCTIONS,
  type PlanStep,
  type PlanTarget,
  type ProgrammingMode,
  type SetPlan,
} from '../../firmware/types';
import { platformByName } from '../../platforms/index';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import type { RegisterCommand } from './index';

interface InspectOptions {
  json?: boolean;
  platform?: string;
  productId?: number;
  mode: ProgrammingMode;
  deviceOs?: number;
  set?: boolean;
  deviceProtection?: boolean;
  inDfu?: boolean;
  deviceModule: InstalledModule[];
}

const wholeNumber =
  (max: number) =>
  (value: string): number => {
    const n = /^0x[0-9a-f]+$/i.test(value)
      ? Number.parseInt(value.slice(2), 16)
      : /^\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
    if (!Number.isSafeInteger(n) || n > max)
      throw new InvalidArgumentError(`must be a whole number up to ${max}.`);
    return n;
  };

const errorJson = (e: LsError) => ({
  code: e.code,
  message: e.message,
  ...(e.remedy ? { remedy: e.remedy } : {}),
});

const imageJson = (i: FlashImage) => ({
  label: i.label,
  alt: i.alt,
  address: jsonAddress(i.address),
  size: i.data.length,
});

/** `bootloader:0:3100` or `4:1:5600`: a module the device runs, as GET_MODULE_INFO reports it. */
const deviceModule = (value: string, previous: InstalledModule[]): InstalledModule[] => {
  const m = /^([a-z]+|\d+):(\d+):(\d+)$/.exec(value.trim());
  const fn = m?.[1] ?? '';
  const known = /^\d+$/.test(fn) ? functionName(Number(fn)) : MODULE_FUNCTIONS.find((f) => f === fn);
  if (!m || known === undefined || Number(m[2]) > 0xff || Number(m[3]) > 0xffff)
    throw new InvalidArgumentError(
      `use FUNCTION:INDEX:VERSION with a function such as bootloader, system, radio or ncp (e.g. bootloader:0:3001).`,
    );
  return [...previous, { function: known, index: Number(m[2]), version: Number(m[3]) }];
};

/** The --json shape of one plan step. */
const stepJson = (step: PlanStep, n: number) => {
  const image = step.image;
  const m = step.module;
  return {
    step: n,
    path: step.path,
    kind: step.kind,
    label: image.label,
    ...(step.path === 'dfu' ? { alt: step.image.alt, address: jsonAddress(step.image.address) } : {}),
    size: image.data.length,
    ...(m
      ? { module: { function: m.function, index: m.index, version: m.version, sha256: m.fwUniqueId } }
      : {}),
    expectedMs: step.expectedMs,
    reason: step.reason,
    ...(step.skip ? { skip: step.skip } : {}),
    ...(step.protected ? { protected: true } : {}),
  };
};

const planJson = (plan: SetPlan) => ({
  // What `plan` always was: the images written over DFU, in order.
  plan: plan.steps.flatMap((s) => (s.path === 'dfu' ? [imageJson(s.image)] : [])),
  steps: plan.steps.map((s, i) => stepJson(s, i + 1)),
  requires: plan.requires,
  expectedMs: plan.expectedMs,
});

/** The --json shape of one file: stable field names other tools (and the line's scripts) read. */
export const inspectedJson = (f: InspectedFile, problems: readonly LsError[]) => {
  const m = f.module;
  const error = problems[0] ?? f.error;
  return {
    file: f.file,
    size: f.size,
    sha256: f.sha256,
    kind: f.kind,
    ...(m
      ? {
          module: {
            platformId: m.platformId,
            platform: m.platform ?? null,
            function: m.function,
            index: m.index,
            version: m.version,
            startAddress: jsonAddress(m.startAddress),
            endAddress: jsonAddress(m.endAddress),
            prefixOffset: m.prefixOffset,
            flags: m.flagNames,
            dependencies: m.dependencies,
            productId: m.productId,
            productVersion: m.productVersion,
            suffixSize: m.suffixSize,
            crc: m.crc,
            fwUniqueId: m.fwUniqueId,
            ...(m.securityMode !== undefined ? { securityMode: m.securityMode } : {}),
          },
        }
      : {}),
    ...(f.dfuse
      ? {
          dfuse: {
            version: f.dfuse.version,
            targets: f.dfuse.targets.map((t) => ({
              alt: t.alt,
              name: t.name ?? null,
              elements: t.elements.length,
            })),
            suffix: f.dfuse.suffix,
            crc: f.dfuse.crc,
          },
        }
      : {}),
    images: f.images.map(imageJson),
    ...(error ? { error: errorJson(error) } : {}),
    ...(problems.length > 1 ? { errors: problems.map(errorJson) } : {}),
  };
};

const pad = (rows: string[][]): string[] => {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
};

const baseName = (file: string): string => file.split(/[\\/]/).pop() ?? file;

const what = (f: InspectedFile): string[] => {
  const m = f.module;
  if (m) {
    const fn = typeof m.function === 'number' ? `fn ${m.function}` : m.function;
    const product =
      m.productId < 0 ? '-' : m.productId === 0xffff ? 'none' : `${m.productId} v${m.productVersion}`;
    return [
      m.platform ?? `#${m.platformId}`,
      m.function === 'system' || m.function === 'user' ? `${fn} ${m.index}` : fn,
      String(m.version),
      `${hex32(m.startAddress)}-${hex32(m.endAddress + 4)}`,
      product,
    ];
  }
  if (f.kind === 'dfuse' && f.dfuse)
    return [
      '-',
      `dfuse ${f.images.length} el.`,
      '-',
      f.images.map((i) => hex32(i.address)).join(',') || '-',
      '-',
    ];
  const image = f.images[0];
  return [
    '-',
    f.kind,
    '-',
    image ? `${hex32(image.address)}-${hex32(image.address + image.data.length)}` : '-',
    '-',
  ];
};

export const formatTable = (
  files: readonly { file: InspectedFile; problems: readonly LsError[] }[],
): string[] => {
  const rows = [['FILE', 'KIND', 'PLATFORM', 'MODULE', 'VERSION', 'RANGE', 'PRODUCT', 'STATUS']];
  for (const { file: f, problems } of files) {
    const status = problems[0] ? `REFUSED ${problems[0].code}` : 'ok';
    rows.push([baseName(f.file), f.kind, ...what(f), status]);
  }
  const lines = pad(rows);
  for (const { file: f, problems } of files)
    for (const p of problems)
      lines.push(`  ${baseName(f.file)}: ${p.code}: ${p.message}${p.remedy ? `\n    -> ${p.remedy}` : ''}`);
  return lines;
};

const usage = (io: CliIo, message: string): never => {
  io.err(`linestation inspect: ${message}`);
  throw new CliExit(ExitCode.Usage);
};

const targetFrom = (io: CliIo, o: InspectOptions): PlanTarget | undefined => {
  if (o.platform === undefined && o.productId === undefined) {
    if (o.set || o.deviceOs !== undefined || o.deviceProtection || o.inDfu || o.deviceModule.length > 0)
      usage(
        io,
        '--set, --device-os, --device-protection, --in-dfu and --device-module need --platform and --product-id.',
      );
    return undefined;
  }
  if (o.platform === undefined || o.productId === undefined)
    return usage(io, '--platform and --product-id go together: give both to validate against a product.');
  const platform = platformByName(o.platform);
  if (!platform)
    return usage(io, `unknown platform "${o.platform}" (use a name like boron or p2, or a platform ID).`);
  return {
    platformId: platform.id,
    productId: o.productId,
    mode: o.mode,
    ...(o.deviceOs !== undefined ? { deviceOsVersion: o.deviceOs } : {}),
    ...(o.deviceProtection ? { deviceProtection: true } : {}),
    ...(o.inDfu ? { alreadyInDfu: true } : {}),
    ...(o.deviceModule.length > 0 ? { deviceModules: o.deviceModule } : {}),
  };
};

const run = async (io: CliIo, args: string[], o: InspectOptions): Promise<void> => {
  const target = targetFrom(io, o);
  const parsed = args.map((a) => {
    const p = parseFileArgument(a);
    if (!p.ok) return usage(io, `${p.error.message} ${p.error.remedy ?? ''}`.trim());
    return p.value;
  });
  const files: InspectedFile[] = [];
  // One at a time: a station inspects a handful of files, and memory stays flat for large ones.
  for (const p of parsed) {
    const path = resolve(io.cwd, p.path);
    const raw = p.rawAddress !== undefined ? { rawAddress: p.rawAddress } : {};
    files.push(await inspectFile(path, { ...raw, name: p.path }));
  }
  const results = files.map((file) => ({
    file,
    problems: target ? validateForPlan(file, target) : file.error ? [file.error] : [],
  }));
  const set = target && o.set ? planSet(files, target) : undefined;
  const perFile = new Set(results.flatMap((r) => r.problems).map((e) => `${e.code}\u0000${e.message}`));
  const setErrors = set ? set.errors.filter((e) => !perFile.has(`${e.code}\u0000${e.message}`)) : [];

  if (o.json) {
    const list = results.map((r) => inspectedJson(r.file, r.problems));
    if (set)
      printJson(io, {
        files: list,
        errors: setErrors.map(errorJson),
        ...planJson(set),
        ok: set.errors.length === 0,
      });
    else printJson(io, list);
  } else {
    for (const line of formatTable(results)) io.out(line);
    if (set) {
      for (const e of setErrors)
        io.out(`  set: ${e.code}: ${e.message}${e.remedy ? `\n    -> ${e.remedy}` : ''}`);
      const refusedSet = set.errors.length > 0 ? ' (refused, nothing would be written)' : '';
      io.out(`Plan${refusedSet}: ${planSummary(set)}`);
      for (const [n, step] of set.steps.entries()) io.out(`  ${stepLine(step, n + 1)}`);
      for (const r of set.requires) io.out(`  requires: ${r.message}`);
    }
  }
  const refused = results.some((r) => r.problems.length > 0) || (set !== undefined && set.errors.length > 0);
  if (refused) throw new CliExit(ExitCode.Refused);
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('inspect')
    .description(
      'inspect firmware files (Particle modules, .dfu files, raw images as FILE@0xADDRESS) and validate them',
    )
    .argument('<files...>', 'module .bin, .dfu, or raw image written as FILE@0xADDRESS')
    .option('--json', 'print one JSON object per file')
    .option('--platform <name|id>', "validate against a product: the product's platform (e.g. boron, p2, 13)")
    .option('--product-id <id>', 'validate against a product: its product ID', wholeNumber(0xffffffff))
    .option(
      '--mode <mode>',
      'flash-on-line or ota-on-setup',
      (v: string): ProgrammingMode => {
        if (v !== 'flash-on-line' && v !== 'ota-on-setup')
          throw new InvalidArgumentError('use flash-on-line or ota-on-setup.');
        return v;
      },
      'flash-on-line',
    )
    .option(
      '--device-os <version>',
      'system module version the devices already run (e.g. 5600), for dependencies',
      wholeNumber(0xffff),
    )
    .option('--set', 'also validate the files as one firmware set and print the install plan')
    .option(
      '--device-protection',
      'plan as for a protected device (Device OS 6.1.1+ only; the bootloader is sealed as protected)',
    )
    .option('--in-dfu', 'plan for a device already in DFU mode (DFU steps first)')
    .option(
      '--device-module <function:index:version>',
      'a module the device already runs, e.g. bootloader:0:3001 (repeatable); dependencies the set lacks are checked against these',
      deviceModule,
      [],
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 every file is valid, 2 a file (or the set) is refused, 1 usage error.\n' +
        'Examples:\n  linestation inspect app.bin system-part1.bin\n  linestation inspect image.bin@0x080A0000 --json\n' +
        '  linestation inspect app.bin --platform boron --product-id 12345 --set --device-os 5600\n' +
        '  linestation inspect boot.bin sys.bin app.bin --platform boron --product-id 12345 --set --device-protection',
    )
    .action(async (files: string[], o: InspectOptions) => run(io, files, o));
};
