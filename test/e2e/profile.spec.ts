import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProfile } from '../../core/station/profile';
import { lockProfile } from '../../core/station/profile-lock';
import { makeProductFolder, type ProductFolderSpec } from '../station/profile-fixtures';
import { expect, test } from './fixtures/bridge';

/** A product folder with generated firmware and a profile, locked by the real core. */
const lockedProduct = async (spec: ProductFolderSpec = {}) => {
  const folder = makeProductFolder(spec);
  const loaded = await loadProfile(folder.profilePath);
  if (!loaded.ok) throw new Error(loaded.error.message);
  const locked = await lockProfile(loaded.value, { env: {} });
  if (!locked.ok) throw new Error(locked.error.message);
  return folder;
};

test('shows a locked flash-on-line profile as READY with its firmware set', async ({ page, openStation }) => {
  const product = await lockedProduct();
  await openStation({ profilePath: product.profilePath });

  await expect(page.getByTestId('ready-banner')).toHaveText('READY');
  await expect(page.getByTestId('product-name')).toHaveText('Acme Field Tracker');
  await expect(page.getByTestId('product-id')).toHaveText('12345');
  await expect(page.getByTestId('platform')).toHaveText('Boron (13)');
  await expect(page.getByTestId('mode')).toHaveText('Flash on the line');
  await expect(page.getByTestId('registration')).toHaveText('Offline (queued)');
  await expect(page.getByTestId('auth')).toHaveText('Simple');
  await expect(page.getByTestId('private-beta')).toHaveText('No');
  await expect(page.getByTestId('development')).toHaveText('No');
  await expect(page.getByTestId('groups')).toHaveText('line-1');
  await expect(page.getByTestId('readback')).toHaveText('On');
  await expect(page.getByTestId('lock')).toContainText('Locked');
  await expect(page.getByTestId('role')).toHaveText('Operator');

  const checks = page.getByTestId('checklist').locator('li');
  await expect(checks).toHaveCount(7);
  for (const id of [
    'questions',
    'platform',
    'firmware-files',
    'firmware-product',
    'firmware-set',
    'registration',
    'locked',
  ])
    await expect(page.getByTestId(`check-${id}`)).toHaveAttribute('data-status', 'ok');

  const rows = page.getByTestId('firmware-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('system-part1.bin');
  await expect(rows.nth(0)).toContainText('system 1');
  await expect(rows.nth(1)).toContainText('app.bin');
  await expect(rows.nth(1)).toContainText('user');
  await expect(rows.nth(1)).toContainText('12345');
  await expect(rows.nth(1)).toContainText('Pinned, matches');
});

test('shows tampering after "Check again" when a firmware file changes on disk', async ({
  page,
  openStation,
}) => {
  const product = await lockedProduct();
  await openStation({ profilePath: product.profilePath });
  await expect(page.getByTestId('ready-banner')).toHaveText('READY');

  appendFileSync(join(product.dir, 'app.bin'), 'not what was signed off');
  await page.getByTestId('refresh').click();

  await expect(page.getByTestId('ready-banner')).toHaveText(/NOT READY/);
  await expect(page.getByTestId('check-firmware-files')).toHaveAttribute('data-status', 'fail');
  await expect(page.getByTestId('check-firmware-files')).toContainText('TAMPERED: app.bin changed on disk');
  await expect(page.getByTestId('check-locked')).toHaveAttribute('data-status', 'fail');
  await expect(page.getByTestId('lock')).toHaveText('TAMPERED');
  await expect(page.getByTestId('firmware-row').nth(1)).toContainText('CHANGED');
});

test('shows the OTA-on-setup cloud item as pending and a wrong product as failing', async ({
  page,
  openStation,
}) => {
  const product = makeProductFolder({ mode: 'ota-on-setup', firmwareProductId: 999 });
  await openStation({ profilePath: product.profilePath });

  await expect(page.getByTestId('mode')).toHaveText('OTA on setup');
  await expect(page.getByTestId('check-firmware-set')).toHaveAttribute('data-status', 'pending');
  await expect(page.getByTestId('check-firmware-set')).toContainText('released default firmware');
  await expect(page.getByTestId('check-firmware-product')).toHaveAttribute('data-status', 'fail');
  await expect(page.getByTestId('check-locked')).toHaveAttribute('data-status', 'fail');
  await expect(page.getByTestId('ready-banner')).toHaveText('NOT READY: 4 items open');
});

test('an operator without a profile sees no way to load one', async ({ page, openStation }) => {
  await openStation();
  await expect(page.getByRole('heading', { name: 'No product profile loaded' })).toBeVisible();
  await expect(page.getByTestId('profile-path')).toHaveCount(0);
});

test('an engineer loads a profile by path and the page follows the core event', async ({
  page,
  openStation,
}) => {
  const product = await lockedProduct({ platform: 'p2' });
  const station = await openStation({ role: 'engineer' });
  await expect(page.getByTestId('role')).toHaveText('Engineer');

  await page.getByTestId('profile-path').fill('/no/such/profile.json');
  await page.getByRole('button', { name: 'Load' }).click();
  await expect(page.getByRole('alert')).toContainText('There is no product profile at /no/such/profile.json');

  await page.getByTestId('profile-path').fill(product.profilePath);
  await page.getByRole('button', { name: 'Load' }).click();
  await expect(page.getByTestId('platform')).toHaveText('P2 (32)');
  await expect(page.getByTestId('ready-banner')).toHaveText('READY');

  // A load from elsewhere (a later CLI or menu action) reaches the page through the event.
  const other = await lockedProduct({ platform: 'bsom', productId: 777 });
  const r = await station.invoke('profile.load', { path: other.profilePath });
  expect(r.ok).toBe(true);
  await expect(page.getByTestId('product-id')).toHaveText('777');
  await expect(page.getByTestId('platform')).toHaveText('B SoM (23)');
});

test('the page runs under its strict CSP: no inline script, no remote connections', async ({
  page,
  openStation,
  pageProblems,
}) => {
  await openStation();
  await expect(page.getByRole('heading', { name: 'No product profile loaded' })).toBeVisible();
  const result = await page.evaluate(async () => {
    const w = window as unknown as { __inline?: number };
    const s = document.createElement('script');
    s.textContent = 'window.__inline = 1';
    document.head.append(s);
    let fetched = 'blocked';
    try {
      await fetch('https://example.invalid/');
      fetched = 'reached';
    } catch {
      // CSP connect-src refuses it before any network use.
    }
    return { inline: w.__inline, fetched };
  });
  expect(result).toEqual({ inline: undefined, fetched: 'blocked' });
  // Chromium reports each refusal on the console; they are the point of this test, not a fault.
  expect(pageProblems.some((p) => /Content Security Policy/.test(p))).toBe(true);
  pageProblems.splice(0, pageProblems.length);
});

test('an engineer locks an unlocked profile from the page once the core accepts it', async ({
  page,
  openStation,
}) => {
  const product = makeProductFolder({ profile: { organization: undefined } });
  await openStation({ profilePath: product.profilePath, role: 'engineer' });
  await expect(page.getByTestId('organization')).toHaveCount(0);
  await expect(page.getByTestId('check-locked')).toHaveAttribute('data-status', 'fail');

  // Refused by the core with its reason while a question is open.
  await page.getByTestId('lock-profile').click();
  await expect(page.getByTestId('lock-error')).toContainText('Cannot lock until the checklist passes');
  await expect(page.getByTestId('lock-error')).toContainText('organization');

  // Answer the question on disk, then lock: the page turns READY without a reload.
  const json = JSON.parse(readFileSync(product.profilePath, 'utf8'));
  writeFileSync(product.profilePath, JSON.stringify({ ...json, organization: 'Acme Sensors' }));
  await page.getByTestId('lock-profile').click();
  await expect(page.getByTestId('ready-banner')).toHaveText('READY');
  await expect(page.getByTestId('lock-profile')).toHaveCount(0);
  expect(JSON.parse(readFileSync(product.profilePath, 'utf8')).lock.profileHash).toMatch(/^[0-9a-f]{64}$/);
});

test('an operator sees no lock button on an unlocked profile', async ({ page, openStation }) => {
  const product = makeProductFolder();
  await openStation({ profilePath: product.profilePath });
  await expect(page.getByTestId('check-locked')).toHaveAttribute('data-status', 'fail');
  await expect(page.getByTestId('lock-profile')).toHaveCount(0);
});
