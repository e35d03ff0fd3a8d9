import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { zplSymbolContents } from '../../core/labels/zpl';
import { type SimLine, startSimLine } from '../app/line-fixture';
import { type FakeZplPrinter, startFakeZplPrinter } from '../labels/fake-zpl-printer';
import { addLabel, labelTemplate } from '../station/label-rig';
import { expect, test } from './fixtures/bridge';

/*
 * Printed labels in real Chromium against the real core: a simulated line whose locked profile
 * prints to the fake ZPL printer on 127.0.0.1. The operator sees "PASS, label pending" while the
 * printer is out of labels, then PASS with the label printed; a wrong label scanned back is a loud
 * LABEL MISMATCH with both values; the batch view reprints (audited); the engineer sees the
 * template's live preview and tests the printer.
 */

let line: SimLine | undefined;
let printer: FakeZplPrinter | undefined;
test.afterEach(async () => {
  await line?.close();
  await printer?.close();
  line = printer = undefined;
});

const labelLine = async () => {
  printer = await startFakeZplPrinter();
  line = await startSimLine(2);
  await addLabel(line.profilePath, labelTemplate(printer), { ...line.options.env });
  return {
    line,
    printer,
    options: {
      ...line.options,
      lineTuning: { ...line.options.lineTuning, labelBackoff: { baseMs: 50, maxMs: 200 } },
    },
  };
};

test('a PASS shows "label pending" while the printer is out of labels, then PASS with the label printed; scan-back and reprint', async ({
  page,
  openStation,
}, testInfo) => {
  const { line: sim, printer: zpl, options } = await labelLine();
  await openStation(options);
  await page.getByTestId('operator-input').fill('ana');
  await page.getByTestId('scan-input').focus();
  await page.keyboard.type('LOT-LBL-1');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('stat-lot')).toHaveText('LOT-LBL-1');
  await expect(page.getByTestId('labels-status')).toContainText(`Labels → 127.0.0.1:${zpl.port}`);
  await expect(page.locator('label[for="scan"]')).toHaveText('Scan the printed label');

  zpl.set({ paperOut: true });
  sim.bus.plug(sim.device('lbl-a'), sim.ports[0] ?? '');
  const slot = page.locator('.slot[data-state="passed"]').first();
  await expect(slot.getByTestId('slot-word')).toHaveText('PASS, label pending', { timeout: 60_000 });
  await expect(slot.getByTestId('slot-label')).toContainText('Label printer out of labels');
  await expect(slot.getByTestId('slot-label')).toContainText('Load a new label roll');
  await expect(page.getByTestId('labels-problem')).toContainText('Label printer out of labels');
  await page.screenshot({ path: testInfo.outputPath('label-pending.png'), fullPage: true });

  // The roll is back: the label prints, the slot is a plain PASS.
  zpl.set({ paperOut: false });
  await expect(slot.getByTestId('slot-word')).toHaveText('PASS', { timeout: 30_000 });
  await expect(slot.getByTestId('slot-label')).toHaveText('label printed');
  await expect(page.getByTestId('labels-status')).toContainText('1 printed, 0 pending');
  const device = (await slot.getByTestId('slot-device').textContent()) ?? '';
  expect(zpl.jobs().map((j) => zplSymbolContents(j.zpl)[0]?.content)).toEqual([device]);

  // The wrong sticker: loud, both values, on the slot and in the scan box.
  await page.keyboard.type('P046WRONGLABEL');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('scan-message')).toHaveClass(/loud/);
  await expect(page.getByTestId('scan-message')).toContainText(`it says "P046WRONGLABEL"`);
  await expect(page.getByTestId('scan-message')).toContainText(device);
  await expect(slot.getByTestId('slot-word')).toHaveText('LABEL MISMATCH');
  await expect(slot.getByTestId('label-scanned')).toHaveText('P046WRONGLABEL');
  await expect(slot.getByTestId('label-expected')).toHaveText(device);
  const shot = testInfo.outputPath('label-mismatch.png');
  await page.screenshot({ path: shot, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(process.cwd(), 'docs', 'screenshots'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'docs', 'screenshots', 'label-mismatch.png') });
  }

  // The right one clears it.
  await page.keyboard.type(device.toUpperCase());
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('scan-message')).toContainText(`verified on ${device}`);
  await expect(slot.getByTestId('slot-word')).toHaveText('PASS');
  await expect(slot.getByTestId('slot-label')).toContainText('label verified');

  // The batch view reprints, under the operator's name, and the running station prints it now.
  await page.keyboard.press('F3');
  const jobs = page.getByTestId('label-jobs');
  await expect(jobs.getByTestId('label-counts')).toHaveText('1 printed · 0 pending · 0 not printable');
  await expect(jobs.getByTestId('reprint-by')).toHaveValue('ana');
  await jobs.locator('button', { hasText: 'Reprint' }).click();
  await expect(jobs.getByTestId('reprint-status')).toContainText('it prints now');
  await expect.poll(() => zpl.jobs().length, { timeout: 30_000 }).toBe(2);
  await jobs.locator('button', { hasText: 'Refresh' }).click();
  await expect(jobs.getByTestId('label-job').first()).toContainText('reprint by ana');
});

test('the engineer edits the label template with a live preview of sample data, and tests the printer', async ({
  page,
  openStation,
}) => {
  const { printer: zpl, options } = await labelLine();
  await openStation({ ...options, role: 'engineer' });
  await expect(page.getByTestId('role')).toHaveText('Engineer');
  await page.keyboard.press('F4');
  const panel = page.getByTestId('label-panel');
  const image = panel.getByTestId('label-preview-image');
  await expect(image).toBeVisible({ timeout: 30_000 });
  await expect(image).toHaveAttribute('alt', new RegExp(`symbol ${SAMPLE_LABEL_RECORD.deviceId}`));
  // A real image: the browser decoded the PNG.
  expect(await image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(400);
  await expect(panel.locator('figcaption')).toContainText('as a ZPL renderer draws it');

  // Edit: a QR of the serial. The preview follows.
  const editor = panel.getByTestId('label-template');
  const text = (await editor.inputValue())
    .replace('"datamatrix"', '"qr"')
    .replace(/"content": "deviceId"/, '"content": "serial"');
  await editor.fill(text);
  await expect(image).toHaveAttribute('alt', new RegExp(`symbol ${SAMPLE_LABEL_RECORD.serial}`));
  // A mistake is named in words.
  await editor.fill(text.replace('"widthMm": 50', '"widthMm": 2'));
  await expect(panel.getByTestId('label-preview-error')).toContainText('LABEL_TEMPLATE_INVALID');
  await expect(panel.getByTestId('label-preview-error')).toContainText('size.widthMm');
  await editor.fill(text);
  await expect(panel.getByTestId('label-preview-error')).toHaveCount(0);

  await panel.getByTestId('label-test-printer').click();
  await expect(panel.getByTestId('label-test-result')).toHaveAttribute('data-ok', 'true');
  await expect(panel.getByTestId('label-test-result')).toContainText(`127.0.0.1:${zpl.port} is ready`);
  zpl.set({ headOpen: true });
  await panel.getByTestId('label-test-printer').click();
  await expect(panel.getByTestId('label-test-result')).toHaveAttribute('data-ok', 'false');
  await expect(panel.getByTestId('label-test-result')).toContainText('LABEL_PRINTER_HEAD_OPEN');
  expect(zpl.jobs()).toEqual([]);
});
