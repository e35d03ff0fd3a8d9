import { z } from 'zod';
import { method, ROLES } from './define';
import { LABEL_JOB_STATES, labelJobViewSchema, labelPreviewSchema } from './labels';
import { envNameSchema, lineViewSchema } from './line';
import {
  attemptRowSchema,
  auditRowSchema,
  batchReportSchema,
  batchSummarySchema,
  outboxRowSchema,
  settingsViewSchema,
  stationStateSchema,
} from './station';
import { moduleViewSchema, profileWithReadinessSchema, readinessSchema } from './views';

/** A lot or label as a scanner types it: printable, no spaces at the ends, bounded. */
const scanned = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, 'only printable characters without spaces');
const pin = z.string().regex(/^[0-9]{4,12}$/, 'a PIN is 4 to 12 digits');

/**
 * Every method the shells may call, with its role and the zod schemas of its request and
 * response. Adding a method is one entry here plus its handler in core/app/handlers; the IPC
 * binding, the preload bridge and the e2e bridge pick it up from this table.
 */
export const METHODS = {
  'session.get': method({
    role: 'operator',
    summary: 'Who is at the station and what they may do.',
    request: z.object({}).strict(),
    response: z.object({
      role: z.enum(ROLES),
      version: z.string(),
      /** True when the station can raise the session to engineer (a PIN store exists). */
      engineerUnlockAvailable: z.boolean(),
      /** False until an engineer chose the station's PIN (the first-time set-up flow). */
      pinSet: z.boolean(),
    }),
  }),
  'session.unlock': method({
    role: 'operator',
    summary: 'Check the engineer PIN and, if it is right, give this session engineer rights.',
    request: z.object({ pin }).strict(),
    response: z.object({ role: z.enum(ROLES) }),
  }),
  'session.setPin': method({
    // Operator so the first-time set-up can run; the handler refuses a change once a PIN exists
    // unless the session already holds engineer rights.
    role: 'operator',
    summary: 'Set the engineer PIN (first time), or change it (engineer only).',
    request: z.object({ pin }).strict(),
    response: z.object({ role: z.enum(ROLES) }),
  }),
  'session.lock': method({
    role: 'operator',
    summary: 'Drop back to operator rights (leave engineer mode).',
    request: z.object({}).strict(),
    response: z.object({ role: z.enum(ROLES) }),
  }),
  'station.state': method({
    role: 'operator',
    summary: 'The line now: batch, counts, every slot and the newest event log lines.',
    request: z.object({}).strict(),
    response: stationStateSchema,
  }),
  'batch.start': method({
    role: 'operator',
    summary: 'Open (or resume) the batch of a scanned lot; devices then start on plug-in.',
    request: z
      .object({
        lot: scanned,
        operator: z.string().trim().min(1).max(64).default('operator'),
        /** Register later (IDs queue in the outbox); needs `accept: ['offline']` on a cloud profile. */
        offline: z.boolean().default(false),
        /** Open readiness items an engineer accepts for this batch (recorded with it); engineer only. */
        accept: z.array(z.enum(['offline', 'firmware-set', 'questions'])).default([]),
      })
      .strict(),
    response: stationStateSchema,
  }),
  'batch.stop': method({
    role: 'operator',
    summary: 'Stop the running batch (attempts in flight end as interrupted); it can be resumed.',
    request: z.object({ close: z.boolean().default(false) }).strict(),
    response: stationStateSchema,
  }),
  'label.scan': method({
    role: 'operator',
    summary:
      'A scanned label: checked against the printed labels (scan-back), or paired with the next PASS where nothing prints.',
    request: z
      .object({
        serial: scanned,
        /** Who scanned (recorded with a scan-back check). */
        by: z.string().trim().min(1).max(64).optional(),
      })
      .strict(),
    response: z.object({
      /** verify: checked against a printed label (LABEL_MISMATCH is an error); pair: waits for a PASS. */
      mode: z.enum(['verify', 'pair']),
      pendingLabels: z.array(z.string()),
      verified: z
        .object({
          attemptId: z.int(),
          deviceId: z.string(),
          content: z.string(),
          alreadyVerified: z.boolean(),
        })
        .optional(),
    }),
  }),
  'label.jobs': method({
    role: 'operator',
    summary: "A batch's label jobs, newest first, with their counts (the batch view's Labels panel).",
    request: z
      .object({
        lot: z.string().min(1),
        state: z.enum(LABEL_JOB_STATES).optional(),
        limit: z.int().min(1).max(2000).default(200),
      })
      .strict(),
    response: z.object({
      counts: z.object({ pending: z.int(), printed: z.int(), failed: z.int() }),
      jobs: z.array(labelJobViewSchema),
    }),
  }),
  'label.reprint': method({
    // The operator's: a torn or lost label is reprinted at the bench, not by an engineer. Each
    // reprint is audited with the name given.
    role: 'operator',
    summary: "Print a device's label again (audited with who asked and why).",
    request: z
      .object({
        attemptId: z.int().positive(),
        by: z.string().trim().min(1).max(64),
        reason: z.string().trim().min(1).max(200).optional(),
      })
      .strict(),
    response: z.object({
      job: labelJobViewSchema,
      /** True while a batch runs here (its printer prints it now); otherwise at the next batch. */
      printsNow: z.boolean(),
    }),
  }),
  'label.printNow': method({
    role: 'operator',
    summary: 'Try every waiting label now (after the printer was fixed).',
    request: z.object({}).strict(),
    response: z.object({ printed: z.int(), waiting: z.int(), failed: z.int() }),
  }),
  'label.preview': method({
    // Read-only and called live as the engineer types a template, so not an audited engineer call.
    role: 'operator',
    summary: "The label with sample data as its printer would make it: a draft template, or the profile's.",
    request: z.object({ template: z.record(z.string(), z.unknown()).optional() }).strict(),
    response: labelPreviewSchema,
  }),
  'label.testPrinter': method({
    role: 'engineer',
    summary: "Ask the label printer (of a draft template, or the profile's) whether it could print now.",
    request: z.object({ template: z.record(z.string(), z.unknown()).optional() }).strict(),
    response: z.object({
      ok: z.boolean(),
      target: z.string(),
      message: z.string(),
      code: z.string().optional(),
      remedy: z.string().optional(),
    }),
  }),
  'batch.list': method({
    role: 'operator',
    summary: "The batches in this station's log, newest first, with their counts.",
    request: z.object({}).strict(),
    response: z.array(batchSummarySchema),
  }),
  'batch.attempts': method({
    role: 'operator',
    summary: "One page of a batch's attempts (the list view fetches pages as it scrolls).",
    request: z
      .object({
        lot: z.string().min(1),
        offset: z.int().nonnegative().default(0),
        limit: z.int().min(1).max(2000).default(200),
      })
      .strict(),
    response: z.object({ total: z.int(), offset: z.int(), rows: z.array(attemptRowSchema) }),
  }),
  'batch.report': method({
    role: 'operator',
    summary: 'Statistics and chart series of one batch (yield, failure Pareto, durations).',
    request: z.object({ lot: z.string().min(1) }).strict(),
    response: batchReportSchema,
  }),
  'batch.export': method({
    role: 'operator',
    summary: "Export a batch as CSV or JSON (the CLI's format): to a file, or returned as text.",
    request: z
      .object({
        lot: z.string().min(1),
        format: z.enum(['csv', 'json']),
        /** Write here (must end in .csv/.json); without it and without dialog, the text is returned. */
        path: z.string().min(1).optional(),
        /** Ask where to save (the desktop app's save dialog). */
        dialog: z.boolean().default(false),
      })
      .strict(),
    response: z.object({ rows: z.int(), path: z.string().optional(), content: z.string().optional() }),
  }),
  'audit.list': method({
    role: 'engineer',
    summary: 'The audit log of engineer actions, newest first.',
    request: z.object({ limit: z.int().min(1).max(5000).default(200) }).strict(),
    response: z.array(auditRowSchema),
  }),
  'settings.get': method({
    role: 'engineer',
    summary: 'Station settings: name, slot labels by port, PIN and token state.',
    request: z.object({}).strict(),
    response: settingsViewSchema,
  }),
  'settings.update': method({
    role: 'engineer',
    summary: 'Change the station name and the slot labels by USB port path.',
    request: z
      .object({
        stationName: z.string().trim().min(1).max(64).optional(),
        /** The variable holding the line database URL (docs/line.md); the URL itself never comes here. */
        lineDbEnv: envNameSchema.optional(),
        /** Stations of the line reaching the Particle Cloud through this station's public IP. */
        stationsSharingIp: z.int().min(1).max(1000).optional(),
        slotLabels: z
          .record(
            z.string().regex(/^[0-9]+-[0-9]+(\.[0-9]+)*$/, 'a USB port path like 1-2.3'),
            z.string().trim().min(1).max(16),
          )
          .optional(),
      })
      .strict(),
    response: settingsViewSchema,
  }),
  'usb.ports': method({
    role: 'engineer',
    summary: 'Particle devices attached now, by port path (plug one in to label its port).',
    request: z.object({}).strict(),
    response: z.array(
      z.object({ portPath: z.string(), deviceId: z.string().optional(), label: z.string().optional() }),
    ),
  }),
  'cloud.setToken': method({
    role: 'engineer',
    summary: 'Store the Particle access token (encrypted by the OS keychain in the desktop app).',
    request: z.object({ token: z.string().trim().min(8).max(200) }).strict(),
    response: settingsViewSchema,
  }),
  'cloud.test': method({
    role: 'engineer',
    summary: "Check the token against the current profile's product in the cloud.",
    request: z.object({}).strict(),
    response: z.object({ ok: z.boolean(), message: z.string(), productName: z.string().optional() }),
  }),
  'cloud.outbox': method({
    role: 'engineer',
    summary: 'The registration outbox: counts per state and the newest entries.',
    request: z.object({ limit: z.int().min(1).max(1000).default(100) }).strict(),
    response: z.object({
      counts: z.object({ pending: z.int(), done: z.int(), failed: z.int(), blocked: z.int() }),
      entries: z.array(outboxRowSchema),
    }),
  }),
  'cloud.sync': method({
    role: 'engineer',
    summary: 'Send everything pending in the outbox to the cloud now.',
    request: z.object({ deadlineMs: z.int().min(100).max(120_000).default(15_000) }).strict(),
    response: z.object({
      imported: z.int(),
      existing: z.int(),
      failed: z.int(),
      remaining: z.object({ pending: z.int(), done: z.int(), failed: z.int(), blocked: z.int() }),
      message: z.string(),
    }),
  }),
  'line.status': method({
    role: 'operator',
    summary: 'The line database: what is configured and, while a batch runs, how forwarding goes.',
    request: z.object({}).strict(),
    response: lineViewSchema,
  }),
  'line.test': method({
    role: 'engineer',
    summary:
      "Connect to the line database with the station's settings and check it can take the station's records.",
    request: z.object({}).strict(),
    response: z.object({ ok: z.boolean(), message: z.string(), code: z.string().optional() }),
  }),
  'profile.current': method({
    role: 'operator',
    summary: 'The profile this station provisions, re-read from disk, with its readiness checklist.',
    request: z.object({}).strict(),
    response: profileWithReadinessSchema.nullable(),
  }),
  'profile.load': method({
    role: 'engineer',
    summary: 'Choose the profile this station provisions.',
    request: z.object({ path: z.string().min(1) }).strict(),
    response: profileWithReadinessSchema,
  }),
  'profile.check': method({
    role: 'operator',
    summary: 'Readiness checklist for a profile (the current one when no path is given).',
    request: z.object({ path: z.string().min(1).optional() }).strict(),
    response: readinessSchema,
  }),
  'profile.lock': method({
    role: 'engineer',
    summary: 'Pin firmware hashes and record the profile hash, after the checklist passes.',
    request: z.object({ path: z.string().min(1).optional(), relock: z.boolean().default(false) }).strict(),
    response: profileWithReadinessSchema,
  }),
  'profile.read': method({
    role: 'engineer',
    summary: 'The profile file as written (for the editor), the current one when no path is given.',
    request: z.object({ path: z.string().min(1).optional() }).strict(),
    response: z.object({ path: z.string(), profile: z.record(z.string(), z.unknown()) }),
  }),
  'profile.save': method({
    role: 'engineer',
    summary: 'Create or replace a profile file (unlocked: it must be locked again) and make it current.',
    request: z
      .object({
        path: z.string().min(1),
        /** Validated by the core's profile schema; every problem comes back in words. */
        profile: z.record(z.string(), z.unknown()),
      })
      .strict(),
    response: profileWithReadinessSchema,
  }),
  'firmware.inspect': method({
    role: 'engineer',
    summary: 'Read a firmware file and describe the Particle module(s) it holds.',
    request: z.object({ path: z.string().min(1) }).strict(),
    response: z.object({
      path: z.string(),
      sha256: z.string(),
      size: z.int(),
      modules: z.array(moduleViewSchema),
      /** What is wrong with a file that still parsed (a bad CRC, a truncated image), in words. */
      problems: z.array(z.string()).default([]),
    }),
  }),
  'files.choose': method({
    role: 'engineer',
    summary: "Ask the person at the station to pick files (the desktop app's open dialog).",
    request: z
      .object({
        kind: z.enum(['firmware', 'profile']),
        multiple: z.boolean().default(false),
        /** Answer paths relative to this file's folder (firmware entries are relative to the profile). */
        relativeTo: z.string().min(1).optional(),
      })
      .strict(),
    /** `paths` as asked (relative where possible), `absolutePaths` for inspecting them now. */
    response: z.object({ paths: z.array(z.string()), absolutePaths: z.array(z.string()) }),
  }),
} as const;

export type Methods = typeof METHODS;
export type MethodName = keyof Methods;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

export const isMethodName = (name: unknown): name is MethodName =>
  typeof name === 'string' && Object.hasOwn(METHODS, name);

/** What a caller passes (defaults may be left out). */
export type RequestOf<M extends MethodName> = z.input<Methods[M]['request']>;
/** What a handler receives after validation (defaults filled in). */
export type ParsedRequestOf<M extends MethodName> = z.output<Methods[M]['request']>;
export type ResponseOf<M extends MethodName> = z.output<Methods[M]['response']>;
