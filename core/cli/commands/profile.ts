import { existsSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Readiness } from '../../contract/views';
import type { LsError } from '../../errors/result';
import { platformByName } from '../../platforms/index';
import { loadProfile, saveProfile } from '../../station/profile';
import { sha256File } from '../../station/profile-integrity';
import { lockProfile } from '../../station/profile-lock';
import {
  CUSTOMER_AUTH_STYLES,
  type CustomerAuth,
  PROFILE_SCHEMA_VERSION,
  PROVISIONING_MODES,
  type ProfileInput,
  type ProvisioningMode,
} from '../../station/profile-schema';
import { checkReadiness } from '../../station/readiness';
import { cloudReleasedFirmwareCheck } from '../../station/readiness-cloud';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import type { RegisterCommand } from './index';

/** Answers to `profile init`, from flags or from the prompts. */
export interface InitAnswers {
  out: string;
  organization?: string | undefined;
  productId?: number | undefined;
  slug?: string | undefined;
  name?: string | undefined;
  platform?: string | undefined;
  mode?: ProvisioningMode | undefined;
  auth?: CustomerAuth | undefined;
  privateBeta?: boolean | undefined;
  registration?: { mode: 'cloud'; apiBaseUrl: string; tokenEnv: string } | { mode: 'offline' } | undefined;
  development?: boolean | undefined;
  groups: string[];
  slots?: number | undefined;
  deviceOs?: number | undefined;
  firmware: string[];
}

const positiveInt = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new InvalidArgumentError('must be a positive whole number.');
  return Number(value);
};

const printError = (io: CliIo, error: LsError, json: boolean): void => {
  if (json) printJson(io, { ok: false, error });
  else io.err(`linestation: ${error.code}: ${error.message}${error.remedy ? ` ${error.remedy}` : ''}`);
};

const MARK = { ok: '[ ok ]', fail: '[FAIL]', pending: '[WAIT]', unknown: '[ ?? ]' } as const;

/** The checklist as an operator reads it on a terminal: one line per item, remedies indented. */
export const formatChecklist = (readiness: Readiness): string[] => {
  const lines: string[] = [];
  for (const i of readiness.items) {
    lines.push(`${MARK[i.status]} ${i.title}: ${i.message}`);
    if (!i.ok && i.remedy) lines.push(`       -> ${i.remedy}`);
  }
  const open = readiness.items.filter((i) => !i.ok).length;
  lines.push(readiness.ready ? 'READY' : `NOT READY: ${open} item${open === 1 ? '' : 's'} open`);
  return lines;
};

/** Which of the setup questions are still open, by the prompt that asks them. */
export const unansweredQuestions = (a: InitAnswers): string[] => {
  const q: string[] = [];
  if (a.organization === undefined) q.push('organization');
  if (a.mode === undefined) q.push('mode');
  if (a.auth === undefined) q.push('auth');
  if (a.privateBeta === undefined) q.push('privateBeta');
  if (a.registration === undefined) q.push('registration');
  if (a.development === undefined) q.push('development');
  return q;
};

/** One line of input for a question; the terminal in real use, a script in tests. */
export type Prompt = (question: string) => Promise<string>;

/**
 * Asks for what the flags left open, re-asking until an answer is valid. Only run on a TTY;
 * the prompt is injected so the question flow is tested without one.
 */
export const askMissing = async (
  a: InitAnswers,
  prompt: Prompt,
  say: (line: string) => void,
): Promise<InitAnswers> => {
  const ask = async (question: string, valid: (s: string) => boolean): Promise<string> => {
    for (;;) {
      const answer = (await prompt(question)).trim();
      if (valid(answer)) return answer;
      say('  Please answer with one of the choices shown.');
    }
  };
  const yesNo = async (question: string): Promise<boolean> =>
    /^y/i.test(await ask(`${question} [y/n] `, (s) => /^(y|yes|n|no)$/i.test(s)));
  const next = { ...a };
  if (next.productId === undefined)
    next.productId = Number(await ask('Product ID (a number): ', (s) => /^\d+$/.test(s) && Number(s) > 0));
  if (next.name === undefined) next.name = await ask('Product name: ', (s) => s.length > 0);
  if (next.platform === undefined)
    next.platform = await ask(
      'Platform (e.g. boron, bsom, p2, msom): ',
      (s) => platformByName(s) !== undefined,
    );
  if (next.organization === undefined) next.organization = await ask('Organization: ', (s) => s.length > 0);
  if (next.mode === undefined)
    next.mode = (await ask(`Programming mode (${PROVISIONING_MODES.join(' / ')}): `, (s) =>
      (PROVISIONING_MODES as readonly string[]).includes(s),
    )) as ProvisioningMode;
  if (next.auth === undefined)
    next.auth = (await ask(`Customer authentication (${CUSTOMER_AUTH_STYLES.join(' / ')}): `, (s) =>
      (CUSTOMER_AUTH_STYLES as readonly string[]).includes(s),
    )) as CustomerAuth;
  if (next.privateBeta === undefined) next.privateBeta = await yesNo('Is there a private beta?');
  if (next.registration === undefined) {
    const online = await yesNo('Register devices to the cloud from this station (no = offline queue)?');
    if (online) {
      const url = await ask(
        'Cloud API base URL [https://api.particle.io]: ',
        (s) => s === '' || /^https?:\/\/\S+$/.test(s),
      );
      // The NAME of a variable: a pasted token (hex) is refused here as the schema refuses it.
      const tokenEnv = await ask(
        'Name of the environment variable holding the token: ',
        (s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !/^[0-9a-f]{32,}$/i.test(s),
      );
      next.registration = { mode: 'cloud', apiBaseUrl: url || 'https://api.particle.io', tokenEnv };
    } else next.registration = { mode: 'offline' };
  }
  if (next.development === undefined) next.development = await yesNo('Mark devices as development devices?');
  return next;
};

const askOnTerminal = async (a: InitAnswers): Promise<InitAnswers> => {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await askMissing(
      a,
      (q) => rl.question(q),
      (line) => process.stdout.write(`${line}\n`),
    );
  } finally {
    rl.close();
  }
};

/** Builds the profile JSON from complete-enough answers, pinning each firmware file's hash. */
export const buildProfile = async (a: InitAnswers, cwd: string): Promise<ProfileInput> => {
  const outDir = dirname(resolve(cwd, a.out));
  const firmware = await Promise.all(
    a.firmware.map(async (f) => {
      const abs = resolve(cwd, f);
      return { path: relative(outDir, abs).split(sep).join('/'), sha256: await sha256File(abs) };
    }),
  );
  return {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    ...(a.organization ? { organization: a.organization } : {}),
    product: { id: a.productId ?? 0, name: a.name ?? '', ...(a.slug ? { slug: a.slug } : {}) },
    platform: a.platform ?? '',
    ...(a.mode ? { provisioningMode: a.mode } : {}),
    ...(a.auth ? { customerAuth: a.auth } : {}),
    ...(a.privateBeta !== undefined ? { privateBeta: a.privateBeta } : {}),
    firmware,
    ...(a.registration ? { registration: a.registration } : {}),
    ...(a.development !== undefined ? { development: a.development } : {}),
    groups: a.groups,
    ...(a.slots ? { slots: { count: a.slots, labels: {} } } : {}),
    ...(a.deviceOs ? { deviceOsVersion: a.deviceOs } : {}),
  };
};

interface InitFlags {
  out: string;
  org?: string;
  productId?: number;
  slug?: string;
  name?: string;
  platform?: string;
  mode?: ProvisioningMode;
  auth?: CustomerAuth;
  privateBeta?: boolean;
  cloud?: string;
  tokenEnv?: string;
  offline?: boolean;
  development?: boolean;
  group: string[];
  slots?: number;
  deviceOs?: number;
  force?: boolean;
  json?: boolean;
}

const runInit = async (io: CliIo, files: string[], flags: InitFlags): Promise<void> => {
  const json = Boolean(flags.json);
  const usage = (message: string): never => {
    printError(io, { code: 'USAGE', message }, json);
    throw new CliExit(ExitCode.Usage);
  };
  if (flags.offline && (flags.cloud || flags.tokenEnv))
    usage('Choose either --offline or --cloud/--token-env, not both.');
  if (flags.cloud && !flags.tokenEnv)
    usage('--cloud needs --token-env VAR (the name of the variable holding the token).');
  let answers: InitAnswers = {
    out: flags.out,
    organization: flags.org,
    productId: flags.productId,
    slug: flags.slug,
    name: flags.name,
    platform: flags.platform,
    mode: flags.mode,
    auth: flags.auth,
    privateBeta: flags.privateBeta,
    registration: flags.offline
      ? { mode: 'offline' }
      : flags.tokenEnv
        ? { mode: 'cloud', apiBaseUrl: flags.cloud ?? 'https://api.particle.io', tokenEnv: flags.tokenEnv }
        : undefined,
    development: flags.development,
    groups: flags.group,
    slots: flags.slots,
    deviceOs: flags.deviceOs,
    firmware: files,
  };
  const outPath = resolve(io.cwd, flags.out);
  if (existsSync(outPath) && !flags.force) {
    printError(
      io,
      {
        code: 'PROFILE_EXISTS',
        message: `${outPath} already exists.`,
        remedy: 'Choose another --out, or pass --force to replace it.',
      },
      json,
    );
    throw new CliExit(ExitCode.Refused);
  }
  for (const f of files) {
    if (!existsSync(resolve(io.cwd, f))) {
      printError(io, { code: 'FIRMWARE_MISSING', message: `Firmware file ${f} does not exist.` }, json);
      throw new CliExit(ExitCode.Usage);
    }
  }
  if (io.isTTY && process.stdin.isTTY && !json) answers = await askOnTerminal(answers);
  if (answers.productId === undefined || !answers.name || !answers.platform)
    usage('--product-id, --name and --platform are required (the prompts only run on a terminal).');
  if (!platformByName(answers.platform ?? ''))
    usage(`"${answers.platform}" is not a Particle platform; use e.g. boron, bsom, p2, msom, tracker.`);

  const saved = await saveProfile(outPath, await buildProfile(answers, io.cwd));
  if (!saved.ok) {
    printError(io, saved.error, json);
    throw new CliExit(ExitCode.Failed);
  }
  const open = unansweredQuestions(answers);
  if (json) {
    printJson(io, { ok: true, path: saved.value.path, unanswered: open, profile: saved.value.profile });
    return;
  }
  io.out(`Wrote ${saved.value.path} (${files.length} firmware file${files.length === 1 ? '' : 's'} pinned).`);
  if (open.length > 0)
    io.out(`Still unanswered: ${open.join(', ')}. Edit the profile or run init again on a terminal.`);
  io.out(`Next: linestation profile check ${flags.out}, then linestation profile lock ${flags.out}.`);
};

/** Loads the profile for check/lock, or prints why it cannot be read and ends with exit 1. */
const loadOrExit = async (io: CliIo, path: string, json: boolean) => {
  const loaded = await loadProfile(resolve(io.cwd, path));
  if (!loaded.ok) {
    printError(io, loaded.error, json);
    throw new CliExit(ExitCode.Failed);
  }
  return loaded;
};

const runCheck = async (io: CliIo, path: string, flags: { json?: boolean }): Promise<void> => {
  const json = Boolean(flags.json);
  const loaded = await loadOrExit(io, path, json);
  const releasedFirmwareCheck = cloudReleasedFirmwareCheck(loaded.value.profile, io.env);
  const { readiness } = await checkReadiness(loaded.value, {
    env: io.env,
    ...(releasedFirmwareCheck ? { releasedFirmwareCheck } : {}),
  });
  if (json) printJson(io, { path: loaded.value.path, ...readiness });
  else {
    const p = loaded.value.profile;
    io.out(
      `${p.product.name} (product ${p.product.id}), ${p.platform}, ${p.provisioningMode ?? 'mode not answered'}`,
    );
    for (const line of formatChecklist(readiness)) io.out(line);
  }
  if (!readiness.ready) throw new CliExit(ExitCode.NotReady);
};

const runLock = async (
  io: CliIo,
  path: string,
  flags: { json?: boolean; relock?: boolean },
): Promise<void> => {
  const json = Boolean(flags.json);
  const loaded = await loadOrExit(io, path, json);
  const releasedFirmwareCheck = cloudReleasedFirmwareCheck(loaded.value.profile, io.env);
  const locked = await lockProfile(loaded.value, {
    env: io.env,
    relock: Boolean(flags.relock),
    ...(releasedFirmwareCheck ? { releasedFirmwareCheck } : {}),
  });
  if (!locked.ok) {
    printError(io, locked.error, json);
    throw new CliExit(locked.error.code === 'PROFILE_WRITE_FAILED' ? ExitCode.Failed : ExitCode.Refused);
  }
  const lock = locked.value.loaded.profile.lock;
  if (json)
    printJson(io, {
      ok: true,
      path: locked.value.loaded.path,
      changed: locked.value.changed,
      profileHash: lock?.profileHash,
      lockedAt: lock?.lockedAt,
      firmware: locked.value.loaded.profile.firmware,
    });
  else
    io.out(
      locked.value.changed
        ? `Locked ${locked.value.loaded.path}: profile hash ${lock?.profileHash}.`
        : `${locked.value.loaded.path} was already locked and is unchanged (profile hash ${lock?.profileHash}).`,
    );
};

export const register: RegisterCommand = (program: Command, io: CliIo) => {
  const profile = program.command('profile').description('create, check and lock product profiles');

  profile
    .command('init')
    .description('write a new product profile (asks for missing answers on a terminal)')
    .argument('[firmware...]', 'firmware files for the set (paths are stored relative to the profile)')
    .requiredOption('--out <file>', 'where to write the profile')
    .option('--org <name>', 'organization')
    .option('--product-id <n>', 'numeric product ID', positiveInt)
    .option('--slug <slug>', 'product slug')
    .option('--name <name>', 'product name')
    .option('--platform <name>', 'platform (boron, bsom, p2, msom, tracker, ...)')
    .addOption(new Option('--mode <mode>', 'how devices are programmed').choices(PROVISIONING_MODES))
    .addOption(new Option('--auth <style>', 'customer authentication').choices(CUSTOMER_AUTH_STYLES))
    .option('--private-beta', 'the product has a private beta')
    .option('--no-private-beta', 'the product has no private beta')
    .option('--cloud <url>', 'Particle Cloud API base URL')
    .option('--token-env <var>', 'NAME of the environment variable that holds the API token')
    .option('--offline', 'register nothing from the station (IDs are queued)')
    .option('--development', 'mark devices as development devices')
    .option('--no-development', 'do not mark devices as development devices')
    .option(
      '--group <name>',
      'device group (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--slots <n>', 'number of slots on the station (1..24)', positiveInt)
    .option(
      '--device-os <version>',
      'Device OS module version the devices already run (e.g. 5600 for 5.6.0)',
      positiveInt,
    )
    .option('--force', 'replace an existing file')
    .option('--json', 'print the result as JSON')
    .action((files: string[], flags: InitFlags) => runInit(io, files, flags));

  profile
    .command('check')
    .description('print the readiness checklist (exit 0 ready, 3 not ready)')
    .argument('<profile>', 'profile file')
    .option('--json', 'print the checklist as JSON')
    .action((path: string, flags: { json?: boolean }) => runCheck(io, path, flags));

  profile
    .command('lock')
    .description('pin firmware hashes and record the profile hash (refused until the checklist passes)')
    .argument('<profile>', 'profile file')
    .option('--relock', 'accept a reviewed change to a locked profile and lock it again')
    .option('--json', 'print the result as JSON')
    .action((path: string, flags: { json?: boolean; relock?: boolean }) => runLock(io, path, flags));
};
