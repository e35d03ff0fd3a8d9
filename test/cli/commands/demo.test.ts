import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../core/cli/main';
import { tempClusterUnavailable } from '../../../core/line-db/temp-cluster';
import { parseCsvLine } from '../../../core/store/export';
import { captureIo } from '../../station/cli-harness';
import { tempDir } from '../../store/helpers';

/* `linestation demo` (core/cli/commands/demo.ts with core/station/demo-setup.ts), end to end. */
describe('linestation demo', () => {
  it('builds firmware, locks a profile, runs a simulated batch against a local mock cloud and exports it', async () => {
    const dir = join(tempDir('ls-demo-'), 'demo');
    const c = captureIo();
    const code = await runCli(['demo', '--data-dir', dir, '--devices', '3', '--time-scale', '0.002'], c.io);
    expect(c.errs).toEqual([]);
    expect(code).toBe(0);
    const text = c.out.join('\n');
    expect(text).toMatch(/mock Particle Cloud at http:\/\/127\.0\.0\.1:\d+/);
    expect(text).toMatch(/the mock cloud now lists 3 device\(s\)/);
    const csv = /exported 3 attempt\(s\) to (\S+\.csv)/.exec(text)?.[1];
    expect(csv && existsSync(csv)).toBe(true);
    expect(
      readFileSync(csv ?? '', 'utf8')
        .split('\r\n')
        .filter(Boolean),
    ).toHaveLength(4);
    const profile = JSON.parse(readFileSync(join(dir, 'widget.profile.json'), 'utf8')) as {
      lock?: { profileHash: string };
    };
    expect(profile.lock?.profileHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--platform tracker --whole-set --protected: a whole Device OS set on protected devices, each unlocked and locked again', async () => {
    const dir = join(tempDir('ls-demo-'), 'demo');
    const c = captureIo();
    const code = await runCli(
      [
        'demo',
        '--data-dir',
        dir,
        '--devices',
        '2',
        '--time-scale',
        '0.002',
        '--platform',
        'tracker',
        '--whole-set',
        '--protected',
      ],
      c.io,
    );
    expect(c.errs).toEqual([]);
    expect(code).toBe(0);
    const text = c.out.join('\n');
    expect(text).toMatch(
      /firmware \S+bootloader\.bin, \S+softdevice\.bin, \S+system-part1\.bin, \S+widget-app\.bin/,
    );
    const csv = /exported 2 attempt\(s\) to (\S+\.csv)/.exec(text)?.[1] ?? '';
    const [head = '', ...rows] = readFileSync(csv, 'utf8').trimEnd().split('\r\n');
    const header = parseCsvLine(head);
    const col = (row: string, name: string) => parseCsvLine(row)[header.indexOf(name)];
    for (const row of rows) {
      expect(col(row, 'result')).toBe('pass');
      expect(col(row, 'service_mode_ms')).toMatch(/^\d+$/);
      expect(col(row, 'module_steps')).toMatch(
        /^bootloader\.bin@normal:written:\d+;softdevice\.bin@dfu:written/,
      );
    }
  });
});

describe.skipIf(tempClusterUnavailable() !== undefined)('linestation demo --line', () => {
  it('starts a temporary line database, three stations and the supervisor page, prints its address, and stops on Ctrl-C', async () => {
    const dir = join(tempDir('ls-demo-line-'), 'demo');
    const c = captureIo();
    const running = runCli(['demo', '--line', '--data-dir', dir, '--time-scale', '0.005'], c.io);
    let address: string | undefined;
    for (let i = 0; i < 600 && !address; i++) {
      await new Promise((r) => setTimeout(r, 100));
      address = /^Supervisor view: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(c.out.join('\n'))?.[1];
    }
    expect(address).toBeDefined();
    const state = (await (await fetch(new URL('/api/state', address))).json()) as { stations: unknown[] };
    expect(state.stations).toHaveLength(3);
    expect(c.out.join('\n')).toContain('Ctrl-C stops');
    process.emit('SIGINT');
    expect(await running).toBe(0);
    expect(c.errs).toEqual([]);
    await expect(fetch(new URL('/api/state', address))).rejects.toThrow();
  }, 180_000);
});
