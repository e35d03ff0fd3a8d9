import { join } from 'node:path';
import { type SimLine, startSimLine } from '../app/line-fixture';
import { expect, test } from './fixtures/bridge';

let line: SimLine | undefined;
test.afterEach(async () => {
  await line?.close();
  line = undefined;
});

test('an engineer creates a profile, sees every problem in words, inspects firmware and labels a port by plugging a device in', async ({
  page,
  openStation,
}) => {
  line = await startSimLine(2);
  const sim = line;
  const demoFirmware = join(sim.dir, 'product', 'firmware', 'widget-app.bin');
  await openStation({
    ...sim.options,
    profilePath: undefined,
    role: 'engineer',
    // The desktop app's open dialog, answered as an engineer picking the demo firmware.
    chooseOpenPaths: async () => [demoFirmware],
  });
  await expect(page.getByTestId('role')).toHaveText('Engineer');
  await page.keyboard.press('F4');
  await expect(page.getByTestId('profile-editor')).toBeVisible();

  const path = join(sim.dir, 'product', 'gadget.profile.json');
  await page.getByTestId('pe-path').fill(path);
  // Picking firmware fills the list with a path relative to the profile and inspects it at once.
  await page.getByTestId('pe-choose').click();
  await expect(page.getByTestId('pe-firmware')).toHaveValue('firmware/widget-app.bin');
  await expect(page.getByTestId('profile-editor').getByTestId('inspect-table')).toContainText('4242');
  await page.getByTestId('pe-name').fill('Gadget');
  await page.getByTestId('pe-productId').fill('zero');
  await page.getByTestId('pe-save').click();
  await expect(page.getByTestId('pe-problem')).toContainText('product.id');

  await page.getByTestId('pe-productId').fill('9001');
  await page.getByTestId('pe-mode').selectOption('flash-on-line');
  await page.getByTestId('pe-registration').selectOption('offline');
  await page.getByTestId('pe-save').click();
  await expect(page.getByTestId('pe-saved')).toBeVisible();
  await expect(page.getByTestId('engineer-profile')).toContainText('Gadget');
  // The live checklist names what is still open.
  await expect(page.getByTestId('check-questions')).toHaveAttribute('data-status', 'fail');
  // The chosen firmware is for product 4242, not 9001: the checklist says so.
  await expect(page.getByTestId('check-firmware-product')).toHaveAttribute('data-status', 'fail');

  // Firmware inspection: the demo user part, module by module.
  await page.getByTestId('inspect-path').fill(demoFirmware);
  await page.getByTestId('inspect-path').press('Enter');
  const inspected = page.locator('form.load').getByTestId('inspect-table');
  await expect(inspected).toContainText('user');
  await expect(inspected).toContainText('4242');
  await page.getByTestId('inspect-path').fill('/no/such/file.bin');
  await page.getByTestId('inspect-path').press('Enter');
  await expect(page.getByTestId('inspect-error')).toBeVisible();

  // Plugging a device into a port is how a port gets its label.
  sim.bus.plug(sim.device('label-me'), sim.ports[1] ?? '');
  await page.getByTestId('find-ports').click();
  const input = page.getByTestId(`label-${sim.ports[1]}`);
  await expect(input).toBeVisible();
  await input.fill('B2');
  await page.getByTestId('save-station').click();
  await expect(page.getByText('Saved.', { exact: true })).toBeVisible();
  const settings = await page.evaluate(() =>
    (
      window as unknown as { linestation: { invoke: (m: string, r: unknown) => Promise<unknown> } }
    ).linestation.invoke('settings.get', {}),
  );
  expect(settings).toMatchObject({ ok: true, value: { slotLabels: { [sim.ports[1] ?? '']: 'B2' } } });
});
