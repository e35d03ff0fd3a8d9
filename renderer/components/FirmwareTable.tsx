import type { FirmwareFileView, ModuleView } from '../../core/contract/index';

const STATE: Record<FirmwareFileView['state'], string> = {
  match: 'Pinned, matches',
  unpinned: 'Not pinned',
  changed: 'CHANGED',
  missing: 'Missing',
  unreadable: 'Unreadable',
};

const kind = (m: ModuleView): string => (m.kind === 'system' ? `system ${m.index}` : m.kind);

const version = (kind: string, v: number): string =>
  kind === 'user' ? `v${v}` : `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 100)}.${v % 100} (${v})`;

export const FirmwareTable = ({ files }: { files: readonly FirmwareFileView[] }) => (
  <section className="card" aria-labelledby="firmware-title">
    <h2 id="firmware-title">Firmware set</h2>
    {files.length === 0 ? (
      <p className="muted" data-testid="firmware-empty">
        No firmware is flashed on the line.
      </p>
    ) : (
      <table className="firmware" data-testid="firmware">
        <thead>
          <tr>
            <th>File</th>
            <th>Module</th>
            <th>Version</th>
            <th>Product</th>
            <th>SHA-256</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr key={f.path} data-testid="firmware-row" className={`fw-${f.state}`}>
              <td>{f.path}</td>
              <td>{f.modules.length ? f.modules.map(kind).join(', ') : '—'}</td>
              <td>{f.modules.length ? f.modules.map((m) => version(m.kind, m.version)).join(', ') : '—'}</td>
              <td>{f.modules.find((m) => m.productId !== undefined)?.productId ?? '—'}</td>
              <td className="hash" title={f.actualSha256}>
                {f.actualSha256 ? f.actualSha256.slice(0, 12) : '—'}
              </td>
              <td>{STATE[f.state]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </section>
);
