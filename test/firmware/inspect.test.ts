import { closeSync, ftruncateSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModule, patternBytes } from '../../core/firmware/builder';
import { sha256Hex } from '../../core/firmware/bytes';
import { inspectBytes, inspectFile, MAX_FILE_SIZE } from '../../core/firmware/inspect';

describe('inspectBytes', () => {
  it('describes a module file and the one image DFU would write', () => {
    const bytes = buildModule({ platformId: 6, function: 'system', index: 2, startAddress: 0x08060000 });
    const f = inspectBytes('sys2.bin', bytes);
    expect(f).toMatchObject({
      file: 'sys2.bin',
      size: bytes.length,
      sha256: sha256Hex(bytes),
      kind: 'module',
    });
    expect(f.error).toBeUndefined();
    expect(f.images).toEqual([
      { label: 'sys2.bin', alt: 0, address: 0x08060000, data: bytes, module: f.module },
    ]);
    expect(f.module?.flagNames).toEqual([]);
  });

  it('drops the prefix from the image of a DROP_MODULE_INFO module, as Particle CLI does', () => {
    const bytes = buildModule({ platformId: 12, function: 'radio', flags: 0x01 });
    const f = inspectBytes('sd.bin', bytes);
    expect(f.module?.flagNames).toEqual(['DROP_MODULE_INFO']);
    expect(f.images[0]?.data).toEqual(bytes.subarray(24));
  });

  it('treats any bytes as a raw image when given an address', () => {
    const data = patternBytes(100);
    const f = inspectBytes('blob.bin', data, { rawAddress: 0x080a0000 });
    expect(f.kind).toBe('raw');
    expect(f.module).toBeUndefined();
    expect(f.images).toEqual([{ label: 'blob.bin@0x080A0000', alt: 0, address: 0x080a0000, data }]);
    expect(f.error).toBeUndefined();
    expect(inspectBytes('none.bin', new Uint8Array(), { rawAddress: 0 }).error?.code).toBe('FIRMWARE_EMPTY');
  });

  it('names unknown flags by their bits', () => {
    const f = inspectBytes('x.bin', buildModule({ platformId: 13, function: 'user', flags: 0x42 }));
    expect(f.module?.flagNames).toEqual(['COMPRESSED', '0x40']);
  });
});

describe('inspectFile', () => {
  it('reads a file from disk and names it as asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-fw-'));
    const path = join(dir, 'app.bin');
    writeFileSync(path, buildModule({ platformId: 13, function: 'user' }));
    const f = await inspectFile(path, { name: 'app.bin' });
    expect(f.file).toBe('app.bin');
    expect(f.module?.function).toBe('user');
  });

  it('refuses a file larger than any device before reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-fw-'));
    const path = join(dir, 'huge.bin');
    // A sparse file: the size is real, the disk blocks are not.
    const fd = openSync(path, 'w');
    ftruncateSync(fd, MAX_FILE_SIZE + 1);
    closeSync(fd);
    const f = await inspectFile(path);
    expect(f.error?.code).toBe('FIRMWARE_TOO_LARGE');
    expect(f.size).toBe(MAX_FILE_SIZE + 1);
  });

  it('turns a directory or a missing file into FIRMWARE_UNREADABLE', async () => {
    const f = await inspectFile(tmpdir());
    expect(f.error?.code).toBe('FIRMWARE_UNREADABLE');
    expect(f.images).toEqual([]);
  });
});
