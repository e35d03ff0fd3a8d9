import { memo, useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { BatchReport } from '../../core/contract/index';

/** One uPlot chart in a div; rebuilt when its data changes (reports are small, so that is cheap). */
const ChartView = ({
  options,
  data,
  testId,
}: {
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  testId: string;
}) => {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const plot = new uPlot({ ...options, width: Math.max(300, el.clientWidth), height: 240 }, data, el);
    return () => plot.destroy();
  }, [options, data]);
  return <div ref={ref} className="chart" data-testid={testId} />;
};

/**
 * Rebuilt only when the report's data changes: option objects are new on every parent render,
 * and tearing down three uPlot canvases 4 times a second was a measured 150 ms long task.
 */
const Chart = memo(ChartView, (a, b) => a.data === b.data && a.testId === b.testId);

const bars = uPlot.paths.bars?.({ size: [0.7, 60] });

const axis = { stroke: '#222', grid: { stroke: '#ddd' }, ticks: { stroke: '#bbb' }, font: '14px system-ui' };

export const YieldChart = memo(({ series }: { series: BatchReport['yieldSeries'] }) => (
  <Chart
    testId="chart-yield"
    data={[series.t, series.yieldPct]}
    options={{
      title: 'Yield over time (%)',
      scales: { y: { range: [0, 100] } },
      axes: [axis, { ...axis, values: (_u, v) => v.map((x) => `${x}%`) }],
      series: [{}, { label: 'Yield', stroke: '#15803d', width: 3, fill: 'rgba(21,128,61,0.08)' }],
      legend: { show: false },
    }}
  />
));

export const ParetoChart = memo(({ pareto }: { pareto: BatchReport['pareto'] }) => {
  const codes = pareto.map((p) => p.code);
  return (
    <Chart
      testId="chart-pareto"
      data={[pareto.map((_, i) => i), pareto.map((p) => p.count), pareto.map((p) => p.cumulativePercent)]}
      options={{
        title: 'Failures by error code (Pareto)',
        scales: {
          x: { time: false, range: [-0.5, Math.max(0.5, codes.length - 0.5)] },
          pct: { range: [0, 100] },
        },
        axes: [
          {
            ...axis,
            values: (_u, v) => v.map((i) => (Number.isInteger(i) ? (codes[i] ?? '') : '')),
            size: 50,
          },
          axis,
          { ...axis, scale: 'pct', side: 1, grid: { show: false }, values: (_u, v) => v.map((x) => `${x}%`) },
        ],
        series: [
          {},
          {
            label: 'Failures',
            stroke: '#b91c1c',
            fill: 'rgba(185,28,28,0.6)',
            ...(bars ? { paths: bars } : {}),
            points: { show: false },
          },
          { label: 'Cumulative %', stroke: '#1d4ed8', width: 2, scale: 'pct' },
        ],
        legend: { show: false },
      }}
    />
  );
});

export const DurationChart = memo(({ histogram }: { histogram: BatchReport['durationHistogram'] }) => (
  <Chart
    testId="chart-duration"
    data={[histogram.bins, histogram.counts]}
    options={{
      title: 'PASS duration (seconds)',
      scales: { x: { time: false } },
      axes: [{ ...axis, values: (_u, v) => v.map((x) => `${x.toFixed(1)}s`) }, axis],
      series: [
        {},
        {
          label: 'Devices',
          stroke: '#1d4ed8',
          fill: 'rgba(29,78,216,0.5)',
          ...(bars ? { paths: bars } : {}),
          points: { show: false },
        },
      ],
      legend: { show: false },
    }}
  />
));
