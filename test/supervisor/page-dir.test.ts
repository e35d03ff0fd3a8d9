import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultPageDir, packageRoot, pageBuilt, SUPERVISOR_HTML } from '../../core/supervisor/page-dir';
import { tempDir } from '../store/helpers';

describe('where the supervisor page is', () => {
  it("is found from the module, in the checkout's dist-renderer, whether built or not", () => {
    expect(packageRoot()).toBe(process.cwd());
    expect(defaultPageDir()).toBe(join(process.cwd(), 'dist-renderer'));
    // From somewhere that is not inside linestation (another package.json above is skipped).
    const other = tempDir('ls-page-dir-');
    writeFileSync(join(other, 'package.json'), JSON.stringify({ name: 'something-else' }));
    mkdirSync(join(other, 'dist'));
    expect(packageRoot(pathToFileURL(join(other, 'dist', 'cli.mjs')).href)).toBeUndefined();
    expect(pageBuilt(undefined)).toBe(false);
    expect(pageBuilt(other)).toBe(false);
    writeFileSync(join(other, SUPERVISOR_HTML), '<!doctype html>');
    expect(pageBuilt(other)).toBe(true);
  });
});
