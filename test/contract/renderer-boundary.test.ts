import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const rendererDir = join(process.cwd(), 'renderer');

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|tsx)$/.test(e.name) ? [join(dir, e.name)] : [],
  );

/** Every import statement that reaches into core/, with whether it is type-only. */
const coreImports = (text: string): { statement: string; typeOnly: boolean }[] =>
  [...text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'((?:\.\.\/)+core\/[^']+)';/gms)].map((m) => ({
    statement: m[0],
    typeOnly: Boolean(m[1]),
  }));

describe('renderer boundary', () => {
  it('imports only types from core/ (the core reaches the page through window.linestation)', () => {
    const files = sources(rendererDir);
    expect(files.length).toBeGreaterThan(0);
    const offenders = files.flatMap((f) =>
      coreImports(readFileSync(f, 'utf8'))
        .filter((i) => !i.typeOnly)
        .map((i) => `${f}: ${i.statement}`),
    );
    expect(offenders).toEqual([]);
  });

  it('recognises a value import as an offence', () => {
    expect(coreImports("import { METHODS } from '../core/contract/index';")[0]?.typeOnly).toBe(false);
    expect(coreImports("import type { Readiness } from '../../core/contract/index';")[0]?.typeOnly).toBe(
      true,
    );
  });
});
