// @ts-check
/** Small time-series charts drawn with uPlot (canvas), sized to their container. */
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatCompact } from './format.js';

const AXIS = {
  stroke: '#8b949e',
  font: '11px system-ui, "DejaVu Sans", sans-serif',
  grid: { stroke: '#21262d', width: 1 },
  ticks: { stroke: '#30363d', width: 1, size: 4 },
};

/**
 * @param {string} color
 * @param {number} alpha
 */
function withAlpha(color, alpha) {
  const value = Number.parseInt(color.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

/**
 * A line (with a light area under it) over time.
 * @param {{ times: readonly number[], values: readonly (number | null)[], color: string, height?: number, label: string, unit?: string }} props
 *   `times` in epoch ms; `null` values leave a gap.
 */
export function TimeChart({ times, values, color, height = 110, label, unit = '' }) {
  const container = useRef(/** @type {HTMLDivElement | null} */ (null));
  const chart = useRef(/** @type {uPlot | null} */ (null));
  /** @type {uPlot.AlignedData} */
  const data = [times.map((t) => t / 1000), [...values]];
  const latest = useRef(data);
  latest.current = data;

  useEffect(() => {
    const element = container.current;
    if (element === null) return undefined;
    /** @type {uPlot.Options} */
    const options = {
      width: Math.max(120, element.clientWidth),
      height,
      legend: { show: false },
      cursor: { show: true, x: true, y: false, points: { show: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.15 : 1] } },
      axes: [
        {
          ...AXIS,
          size: 26,
          space: 40,
          values: (_u, splits) => splits.map((s) => new Date(s * 1000).toLocaleTimeString('en-GB', { hour12: false }).slice(0, 5)),
        },
        { ...AXIS, size: 48, space: 22, values: (_u, splits) => splits.map((s) => `${formatCompact(s)}${unit}`) },
      ],
      series: [{}, { label, stroke: color, width: 1.6, fill: withAlpha(color, 0.14), points: { show: false }, spanGaps: false }],
    };
    chart.current = new uPlot(options, latest.current, element);
    const resize = new ResizeObserver(() => chart.current?.setSize({ width: Math.max(120, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [color, height, label, unit]);

  useEffect(() => {
    chart.current?.setData(latest.current);
  }, [times, values]);

  return html`<div class="chart" ref=${container} aria-label=${label}></div>`;
}
