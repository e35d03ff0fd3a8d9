import { createServer as createHttp } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { lineDbTargetFromEnv } from '../../core/line-db/config';
import { diagnoseConnectFailure } from '../../core/line-db/connection';
import { classifyLineError } from '../../core/line-db/errors';
import { probeServer } from '../../core/line-db/probe';

const listen = async (server: Server | ReturnType<typeof createHttp>): Promise<number> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
};

const servers: { close(): unknown }[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

describe('line database errors', () => {
  it('names each server and socket failure with a kind and a remedy', () => {
    const cases: [unknown, string, string][] = [
      [{ code: '28P01', message: 'password authentication failed' }, 'LINE_DB_AUTH_FAILED', 'config'],
      [{ code: '3D000', message: 'database "x" does not exist' }, 'LINE_DB_NOT_FOUND', 'config'],
      [{ code: '25006', message: 'read-only transaction' }, 'LINE_DB_READ_ONLY', 'config'],
      [{ code: '53100', message: 'No space left on device' }, 'LINE_DB_DISK_FULL', 'transient'],
      [{ code: '42501', message: 'permission denied for schema' }, 'LINE_DB_PERMISSION_DENIED', 'config'],
      [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'LINE_DB_UNREACHABLE', 'transient'],
      [{ code: '57P01', message: 'terminating connection' }, 'LINE_DB_CONNECTION_LOST', 'transient'],
      [new Error('Connection terminated unexpectedly'), 'LINE_DB_CONNECTION_LOST', 'transient'],
      [new Error('Query read timeout'), 'LINE_DB_TIMEOUT', 'transient'],
      [new Error('something else'), 'LINE_DB_ERROR', 'transient'],
    ];
    for (const [e, code, kind] of cases) {
      const named = classifyLineError(e, undefined);
      expect({ code: named.code, kind: named.kind }).toEqual({ code, kind });
      expect(named.remedy?.length).toBeGreaterThan(20);
    }
  });

  it('refuses a variable that holds no postgres:// URL, without echoing it', () => {
    expect(lineDbTargetFromEnv({})).toEqual({ ok: true, value: undefined });
    const http = lineDbTargetFromEnv({ LINESTATION_LINE_DB: 'https://u:secret@h/x' });
    expect(http.ok ? '' : http.error.code).toBe('LINE_DB_BAD_URL');
    expect(JSON.stringify(http)).not.toContain('secret');
    const name = lineDbTargetFromEnv({}, 'postgres://u:secret@h/x');
    expect(name.ok ? '' : name.error.code).toBe('LINE_DB_BAD_ENV_NAME');
    expect(JSON.stringify(name)).not.toContain('secret');
  });

  it('tells a web server, a silent port and a closed port apart from PostgreSQL', async () => {
    const http = createHttp((_q, r) => r.end('x'));
    servers.push(http);
    const httpPort = await listen(http);
    expect(await probeServer('127.0.0.1', httpPort)).toMatchObject({
      kind: 'not-postgres',
      banner: expect.stringMatching(/^HTTP\/1\.1 400/),
    });
    const silent = createServer(() => undefined);
    servers.push(silent);
    expect(await probeServer('127.0.0.1', await listen(silent), 200)).toEqual({ kind: 'silent' });
    const closer = createServer((s) => s.destroy());
    servers.push(closer);
    expect(await probeServer('127.0.0.1', await listen(closer))).toEqual({ kind: 'closed' });
    expect((await probeServer('127.0.0.1', 1)).kind).toBe('unreachable');
    const named = await diagnoseConnectFailure(
      new Error('Connection terminated unexpectedly'),
      `postgres://u:p@127.0.0.1:${httpPort}/x`,
    );
    expect(named.code).toBe('LINE_DB_NOT_POSTGRES');
  });
});
