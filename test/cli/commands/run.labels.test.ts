import { afterEach, describe, expect, it } from 'vitest';
import { zplSymbolContents } from '../../../core/labels/zpl';
import { type FakeZplPrinter, startFakeZplPrinter } from '../../labels/fake-zpl-printer';
import { cliRig, runArgs } from '../../station/cli-harness';
import { addLabel, labelTemplate } from '../../station/label-rig';

/*
 * `linestation run` on a profile that prints labels, against the fake ZPL printer on 127.0.0.1:
 * every PASS's label is printed by the run, and labels a run could not print (the printer out of
 * labels to the end) are kept and printed by the next run on the same data folder.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const rig = async () => {
  const r = await cliRig({ slots: 2 });
  closers.push(() => r.cloud.close());
  const printer: FakeZplPrinter = await startFakeZplPrinter();
  closers.push(() => printer.close());
  await addLabel(r.setup.profilePath, labelTemplate(printer), r.env);
  return { ...r, printer };
};

const exportRows = async (r: Awaited<ReturnType<typeof rig>>, lot: string) => {
  const json = await r.cli(['export', lot, '--format', 'json', '--data-dir', r.dataDir]);
  return JSON.parse(json.out.join('\n')) as { device_id: string; label_state: string | null }[];
};

describe('linestation run with a label template', () => {
  it('prints every PASS’s label, tells each as a JSON label event, and exports label_state', async () => {
    const r = await rig();
    const run = await r.cli(runArgs(r, 'LOT-RL', ['--simulate', '3', '--json']));
    expect(run.code).toBe(0);
    const events = run.out
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; change?: string; deviceId?: string });
    const printed = events.filter((e) => e.type === 'label' && e.change === 'printed').map((e) => e.deviceId);
    const rows = await exportRows(r, 'LOT-RL');
    const devices = rows.map((x) => x.device_id).sort();
    expect(printed.sort()).toEqual(devices);
    expect(rows.map((x) => x.label_state)).toEqual(['printed', 'printed', 'printed']);
    expect(
      r.printer
        .jobs()
        .flatMap((j) => zplSymbolContents(j.zpl).map((s) => s.content))
        .sort(),
    ).toEqual(devices);
  });

  it('keeps the labels a run could not print and prints them with the next run', async () => {
    const r = await rig();
    r.printer.set({ paperOut: true });
    const first = await r.cli(runArgs(r, 'LOT-RP1', ['--simulate', '2']));
    expect(first.code).toBe(0);
    expect(r.printer.jobs()).toEqual([]);
    // The problem once, not at every retry; the summary says what is left and that it is kept.
    expect(first.out.filter((l) => l.startsWith('labels waiting: '))).toEqual([
      'labels waiting: Label printer out of labels (LABEL_PRINTER_PAPER_OUT). Load a new label roll; the queued labels then print.',
    ]);
    expect(first.out).toContain(
      'Labels: 0 printed, 2 pending, 0 not printable. The pending ones are kept and print at the next run on this data folder (linestation labels lists them).',
    );
    expect((await exportRows(r, 'LOT-RP1')).map((x) => x.label_state)).toEqual(['pending', 'pending']);
    const listed = await r.cli(['labels', '--lot', 'LOT-RP1', '--data-dir', r.dataDir]);
    expect(listed.out[0]).toBe('Lot LOT-RP1: 0 printed, 2 pending, 0 failed');
    // The oldest was tried and names the printer's state; the queue held the other behind it.
    expect(listed.out[1]).toContain('LABEL_PRINTER_PAPER_OUT');

    // The roll is back; the next run (another lot) prints the old labels first, then its own.
    r.printer.set({ paperOut: false });
    const second = await r.cli(runArgs(r, 'LOT-RP2', ['--simulate', '1']));
    expect(second.code).toBe(0);
    expect(second.out.filter((l) => l.endsWith(' label printed'))).toHaveLength(3);
    expect(second.out).toContain('Labels: 1 printed, 0 pending, 0 not printable.');
    expect((await exportRows(r, 'LOT-RP1')).map((x) => x.label_state)).toEqual(['printed', 'printed']);
    expect((await exportRows(r, 'LOT-RP2')).map((x) => x.label_state)).toEqual(['printed']);
    expect(r.printer.jobs()).toHaveLength(3);
  });
});
