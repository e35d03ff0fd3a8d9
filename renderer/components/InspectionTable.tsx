import type { ModuleView, ResponseOf } from '../../core/contract/index';

type Inspection = ResponseOf<'firmware.inspect'>;

const row = (m: ModuleView, i: number) => (
  <tr key={i}>
    <td>{m.kind === 'system' ? `system ${m.index}` : m.kind}</td>
    <td>{m.version}</td>
    <td>{m.platformId}</td>
    <td>{m.productId ?? '–'}</td>
    <td>{m.size}</td>
    <td>{m.dependencies.map((d) => `${d.kind} ${d.index} ≥ ${d.version}`).join(', ') || '–'}</td>
  </tr>
);

/** What the core read in one firmware file: every module, and every problem in words. */
export const InspectionTable = ({ result }: { result: Inspection }) => (
  <div className="inspection" data-testid="inspect-table">
    <p className="path">
      {result.path} · {result.size} bytes · SHA-256 <span className="hash">{result.sha256}</span>
    </p>
    <table className="firmware">
      <thead>
        <tr>
          <th>Module</th>
          <th>Version</th>
          <th>Platform</th>
          <th>Product</th>
          <th>Size</th>
          <th>Needs</th>
        </tr>
      </thead>
      <tbody>{result.modules.map(row)}</tbody>
    </table>
    {result.problems.map((p) => (
      <p key={p} className="remedy" data-testid="inspect-problem">
        {p}
      </p>
    ))}
  </div>
);
