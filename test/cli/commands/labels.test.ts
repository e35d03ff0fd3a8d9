import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../../core/cli/commands/labels';
import { SAMPLE_LABEL_RECORD } from '../../../core/labels/label-record';
import { renderZpl, zplSymbolContents } from '../../../core/labels/zpl';
import { portPaths } from '../../../core/sim/index';
import { loadProfile } from '../../../core/station/profile';
import { openLogForReading } from '../../../core/store/open-log';
import { decodeSymbol, hasPdftoppm, rasterisePdf } from '../../labels/decode';
import { symbolRegion, tempDir } from '../../labels/helpers';
import { collect, isFinished, isLabel, type LabelLine, startLabelLine } from '../../station/label-rig';
import { runCommand } from '../run-command';

/*
 * linestation labels and its subcommands, in-process, against a station log that a labelling
 * batch (two simulated devices, the fake ZPL printer on 127.0.0.1) wrote first.
 */

let line: LabelLine;
let devices: string[] = [];
let attempts: number[] = [];
const LOT = 'LOT-CLI-L';

beforeAll(async () => {
  line = await startLabelLine({ slots: 2 });
  const session = await line.open(LOT);
  await session.station.start();
  const printed = collect(session, isLabel('printed'), 2);
  const finished = collect(session, isFinished, 2);
  portPaths(2).forEach((p, i) => {
    line.bus.plug(line.device(`cli-${i}`), p);
  });
  const done = await finished;
  await printed;
  devices = done.map((e) => e.attempt.deviceId ?? '');
  attempts = done.map((e) => e.attempt.id);
  await session.close();
});
afterAll(() => line?.close());

const labels = (...args: string[]) => runCommand(register, ['labels', ...args]);
const dataDir = () => ['--data-dir', line.dataDir];

describe('linestation labels', () => {
  it('lists the newest batch’s jobs and their states', async () => {
    const r = await labels(...dataDir());
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe(`Lot ${LOT}: 2 printed, 0 pending, 0 failed`);
    for (const d of devices) expect(r.out.some((l) => l.includes(d) && l.includes('printed'))).toBe(true);
    const j = await labels('--lot', LOT, '--json', ...dataDir());
    const parsed = JSON.parse(j.out.join('\n')) as {
      lot: string;
      counts: unknown;
      jobs: { deviceId: string }[];
    };
    expect(parsed.lot).toBe(LOT);
    expect(parsed.counts).toEqual({ pending: 0, printed: 2, failed: 0 });
    expect(parsed.jobs.map((x) => x.deviceId).sort()).toEqual([...devices].sort());
  });

  it('refuses an unknown lot (exit 2)', async () => {
    const r = await labels('--lot', 'NOPE', ...dataDir());
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/^linestation: BATCH_NOT_FOUND: /);
  });

  it('verify: the right label passes, a wrong one is LABEL_MISMATCH with both values (exit 4)', async () => {
    const ok = await labels('verify', '--lot', LOT, '--by', 'ana', devices[0] ?? '', ...dataDir());
    expect(ok.code).toBe(0);
    expect(ok.out.join('\n')).toContain(`Label verified: ${devices[0]} is the label of ${devices[0]}`);
    const bad = await labels('verify', '--lot', LOT, 'P046WRONG', '--json', ...dataDir());
    expect(bad.code).toBe(4);
    const j = JSON.parse(bad.out.join('\n')) as { code: string; details: Record<string, unknown> };
    expect(j.code).toBe('LABEL_MISMATCH');
    expect(j.details).toMatchObject({ expected: devices[1], scanned: 'P046WRONG' });
    const text = await labels('verify', '--lot', LOT, 'P046WRONG', ...dataDir());
    expect(text.err.join('\n')).toContain(
      `it says "P046WRONG", and the device that passed is "${devices[1]}"`,
    );
    expect((await labels('verify', '--lot', 'NOPE', 'X', ...dataDir())).code).toBe(2);
    // Both outcomes are in the log.
    const { log } = openLogForReading(line.dataDir);
    try {
      const row = log.db
        .prepare('SELECT label_verified FROM attempts WHERE id = ?')
        .get(attempts[1] ?? 0) as {
        label_verified: string;
      };
      expect(row.label_verified).toBe('mismatch');
    } finally {
      log.close();
    }
  });

  it('reprint: a new job, audited with who asked; an attempt without a label is refused (exit 2)', async () => {
    const r = await labels(
      'reprint',
      String(attempts[0]),
      '--by',
      'ana',
      '--reason',
      'torn',
      '--json',
      ...dataDir(),
    );
    expect(r.code).toBe(0);
    const job = JSON.parse(r.out.join('\n')) as {
      kind: string;
      state: string;
      requestedBy: string;
      deviceId: string;
    };
    expect(job).toMatchObject({
      kind: 'reprint',
      state: 'pending',
      requestedBy: 'ana',
      deviceId: devices[0],
    });
    const { log } = openLogForReading(line.dataDir);
    try {
      const audit = log.audit().filter((a) => a.action === 'label-reprint');
      expect(audit.at(-1)).toMatchObject({
        actor: 'ana',
        details: { attemptId: attempts[0], reason: 'torn' },
      });
    } finally {
      log.close();
    }
    const none = await labels('reprint', '999999', '--by', 'ana', ...dataDir());
    expect(none.code).toBe(2);
    expect(none.err.join('\n')).toMatch(/LABEL_JOB_NOT_FOUND/);
  });

  it('preview writes the label with sample data as PNG, PDF and ZPL, each holding the sample’s symbol', async () => {
    const dir = tempDir();
    const loaded = await loadProfile(line.profilePath);
    const template = loaded.ok ? loaded.value.profile.label : undefined;
    if (!template) throw new Error('no label in the profile');
    const z = renderZpl(template, SAMPLE_LABEL_RECORD);
    if (!z.ok) throw new Error(z.error.message);

    const png = await labels('preview', '--profile', line.profilePath, '--out', join(dir, 'label.png'));
    expect(png.code).toBe(0);
    expect(png.out[0]).toContain(`symbol ${SAMPLE_LABEL_RECORD.deviceId}`);
    expect(
      decodeSymbol(readFileSync(join(dir, 'label.png')), 'datamatrix', symbolRegion(z.value.layout)),
    ).toBe(SAMPLE_LABEL_RECORD.deviceId);

    expect(
      (await labels('preview', '--profile', line.profilePath, '--out', join(dir, 'label.zpl'))).code,
    ).toBe(0);
    expect(zplSymbolContents(readFileSync(join(dir, 'label.zpl'), 'utf8'))).toEqual([
      { type: 'datamatrix', content: SAMPLE_LABEL_RECORD.deviceId },
    ]);

    const pdf = await labels(
      'preview',
      '--profile',
      line.profilePath,
      '--out',
      join(dir, 'label.pdf'),
      '--json',
    );
    expect(JSON.parse(pdf.out.join('\n'))).toMatchObject({
      format: 'pdf',
      content: SAMPLE_LABEL_RECORD.deviceId,
    });
    const bytes = readFileSync(join(dir, 'label.pdf'));
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    if (hasPdftoppm) {
      const scale = 300 / 203;
      expect(decodeSymbol(rasterisePdf(bytes, 300), 'datamatrix', symbolRegion(z.value.layout, scale))).toBe(
        SAMPLE_LABEL_RECORD.deviceId,
      );
    }
  });

  it('preview refuses a file type it does not write (usage) and a profile without a label (exit 3)', async () => {
    const r = await labels('preview', '--profile', line.profilePath, '--out', 'label.jpg').catch(
      (e: unknown) => e,
    );
    expect(r).toMatchObject({ code: 'commander.invalidArgument' });
    const bare = await startLabelLine({ withoutLabel: true });
    try {
      const none = await labels('preview', '--profile', bare.profilePath, '--out', join(tempDir(), 'x.png'));
      expect(none.code).toBe(3);
      expect(none.err.join('\n')).toMatch(/^linestation: LABEL_NOT_CONFIGURED: /);
    } finally {
      await bare.close();
    }
  });

  it('test-printer asks the printer without printing: ready (exit 0), out of labels (exit 3)', async () => {
    const before = line.printer.jobs().length;
    const ready = await labels('test-printer', '--profile', line.profilePath);
    expect(ready.code).toBe(0);
    expect(ready.out[0]).toBe(`The label printer at 127.0.0.1:${line.printer.port} is ready.`);
    line.printer.set({ paperOut: true });
    try {
      const out = await labels('test-printer', '--profile', line.profilePath, '--json');
      expect(out.code).toBe(3);
      expect(JSON.parse(out.out.join('\n'))).toMatchObject({ ok: false, code: 'LABEL_PRINTER_PAPER_OUT' });
    } finally {
      line.printer.set({ paperOut: false });
    }
    expect(line.printer.jobs()).toHaveLength(before);
  });
});
