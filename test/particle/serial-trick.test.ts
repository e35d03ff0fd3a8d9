import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifySerialOpenError, DFU_BAUD, serialTouch } from '../../core/particle/serial-trick';
import { hasSocat } from '../sim/serial-pty';

describe('classifySerialOpenError', () => {
  it.each([
    ['Error: Permission denied, cannot open /dev/ttyACM0', 'SERIAL_ACCESS_DENIED', /udev rules/],
    ['Error Resource temporarily unavailable Cannot lock port', 'SERIAL_BUSY', /ModemManager/],
    ["ENOENT: no such file or directory, open '/dev/ttyACM9'", 'SERIAL_NOT_FOUND', /cable/],
  ])('%s -> %s with a remedy', (text, code, remedy) => {
    const r = classifySerialOpenError('/dev/ttyACM0', new Error(text));
    expect(r.ok ? '' : r.error.code).toBe(code);
    expect(r.ok ? '' : r.error.remedy).toMatch(remedy);
  });

  it('keeps anything else as SERIAL_OPEN_FAILED with the cause', () => {
    const r = classifySerialOpenError('/dev/x', new Error('weird'));
    expect(r.ok ? '' : r.error.message).toContain('weird');
  });
});

// The real serialport binding on a real pty: the baud rate itself is invisible across a pty, but
// this proves the open/close round trip the trick relies on works with the native binding.
describe.skipIf(!hasSocat())('serialTouch with the real binding', () => {
  let socat: ChildProcess;
  const dir = mkdtempSync(join(tmpdir(), 'ls-touch-'));
  beforeAll(async () => {
    socat = spawn(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${join(dir, 'A')}`, `pty,raw,echo=0,link=${join(dir, 'B')}`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      let text = '';
      socat.stderr?.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('starting data transfer loop')) resolve();
      });
      socat.on('exit', () => reject(new Error(text)));
    });
  });
  afterAll(() => {
    socat.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens at 14400 baud and closes again', async () => {
    expect(await serialTouch()(join(dir, 'A'), DFU_BAUD)).toEqual({ ok: true, value: undefined });
  });

  it('names a port that does not exist', async () => {
    const r = await serialTouch()(join(dir, 'missing'), DFU_BAUD);
    expect(r.ok ? '' : r.error.code).toBe('SERIAL_NOT_FOUND');
  });
});
