import type { Percentiles } from '../../core/store/stats';

/**
 * Step durations as a table (count and percentiles per pipeline step): the batch view's and the
 * supervisor page's, one component so both read the same.
 */
export const StepTable = ({
  stepMs,
  name = (step) => step,
}: {
  stepMs: Readonly<Record<string, Percentiles | undefined>>;
  name?: (step: string) => string;
}) => (
  <table className="firmware steps">
    <thead>
      <tr>
        <th>Step</th>
        <th>count</th>
        <th>p50</th>
        <th>p90</th>
        <th>p99</th>
        <th>max</th>
      </tr>
    </thead>
    <tbody>
      {Object.entries(stepMs).flatMap(([step, p]) =>
        p
          ? [
              <tr key={step}>
                <td>{name(step)}</td>
                <td>{p.count}</td>
                <td>{p.p50} ms</td>
                <td>{p.p90} ms</td>
                <td>{p.p99} ms</td>
                <td>{p.max} ms</td>
              </tr>,
            ]
          : [],
      )}
    </tbody>
  </table>
);
