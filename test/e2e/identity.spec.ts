import { type SimLine, startSimLine } from '../app/line-fixture';
import { expect, test } from './fixtures/bridge';

/*
 * What identify reads besides the device ID, on the operator's screen and in the batch view, in
 * real Chromium against the real core: simulated Borons report their sticker serial number and
 * their SIM's ICCID; the slot shows both under the device ID, the attempt list lists them.
 */

let line: SimLine | undefined;
test.afterEach(async () => {
  await line?.close();
  line = undefined;
});

test('a slot shows the serial number and ICCID under the device ID, and the batch view lists them', async ({
  page,
  openStation,
}) => {
  line = await startSimLine(2);
  const sim = line;
  await openStation(sim.options);

  await page.getByTestId('operator-input').focus();
  await page.keyboard.type('ana');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.type('LOT-E2E-ID');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('stat-lot')).toHaveText('LOT-E2E-ID');

  const devices = [sim.device('id-e2e-1'), sim.device('id-e2e-2')];
  devices.forEach((d, i) => {
    sim.bus.plug(d, sim.ports[i] ?? '');
  });
  await expect(page.locator('.slot[data-state="passed"]')).toHaveCount(2, { timeout: 60_000 });

  for (const d of devices) {
    const slot = page.locator('.slot').filter({ hasText: d.deviceId });
    await expect(slot.getByTestId('slot-device')).toHaveText(d.deviceId);
    await expect(slot.getByTestId('slot-serial')).toHaveText(`Serial ${d.identity.serialNumber}`);
    await expect(slot.getByTestId('slot-iccid')).toHaveText(`ICCID ${d.identity.cellular?.iccid}`);
  }

  await page.keyboard.press('F3');
  await expect(page.getByTestId('attempt-row')).toHaveCount(2);
  for (const d of devices) {
    const row = page.getByTestId('attempt-row').filter({ hasText: d.deviceId });
    await expect(row.getByTestId('attempt-serial')).toHaveText(d.identity.serialNumber ?? '');
    await expect(row).toContainText(d.identity.cellular?.iccid ?? '');
  }
});
