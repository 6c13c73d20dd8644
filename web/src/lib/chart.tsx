// A Chart.js chart on a canvas, with the table behind it beside: the canvas is an image with
// a name for screen readers, the numbers are in the table.
import { useEffect, useRef } from 'preact/hooks';
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  DoughnutController,
  ArcElement,
  Legend,
  Tooltip,
);

const COLORS = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#c62828', '#00838f', '#5d4037'];

export function ChartCanvas({
  type,
  labels,
  values,
  label,
  format,
}: {
  type: 'bar' | 'doughnut';
  labels: string[];
  /** tiyn */
  values: number[];
  label: string;
  format(tiyn: number): string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const config: ChartConfiguration<'bar' | 'doughnut'> = {
      type,
      data: {
        labels,
        // Chart.js draws numbers: tenge as a float for the drawing only; the table is exact.
        datasets: [
          {
            label,
            data: values.map((v) => v / 100),
            backgroundColor: type === 'bar' ? COLORS[0] : COLORS,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: type === 'doughnut' },
          tooltip: { callbacks: { label: (c) => format(values[c.dataIndex] ?? 0) } },
        },
      },
    };
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
  }, [type, labels.join('|'), values.join('|'), label]);
  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
