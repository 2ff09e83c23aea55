/**
 * Latency panel webview: client probe percentiles per member, probe failures, a latency histogram, the
 * extension's own operations and the members' server metrics, drawn with uPlot (theme colours from VS Code's
 * CSS variables). All text from the host is set as text, never markup. Talks to the host through
 * src/shared/latencyProtocol.ts.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { HostToLatency, LatencyToHost, LoadStateDto, StatsDto } from '../../shared/latencyProtocol';
import { el } from '../dom';
import { registerToolkit } from '../toolkit';
import { ChartData, LatencyModel, OP_LABELS, Quantile, hasData } from './model';

declare function acquireVsCodeApi(): { postMessage(message: LatencyToHost): void; setState(state: unknown): void };

const vscode = acquireVsCodeApi();
const send = (message: LatencyToHost) => vscode.postMessage(message);
registerToolkit();

const PALETTE = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}
const color = (i: number) => cssVar(PALETTE[i % PALETTE.length], FALLBACK[i % FALLBACK.length]);

type Unit = 'ms' | 'count' | 'rate' | 'bytes';

function formatValue(v: number | null | undefined, unit: Unit): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'ms':
      return v < 1 ? `${v.toFixed(2)} ms` : v < 100 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
    case 'rate':
      return `${v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString()}/s`;
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB'];
      let n = v;
      let u = 0;
      while (n >= 1024 && u < units.length - 1) {
        n /= 1024;
        u++;
      }
      return `${n < 10 && u ? n.toFixed(1) : Math.round(n)} ${units[u]}`;
    }
    default:
      return Math.round(v).toLocaleString();
  }
}

/** A uPlot chart in a card with a title and a PNG button; rebuilt when the series set or the theme changes. */
class Chart {
  private plot: uPlot | undefined;
  private signature = '';
  readonly card: HTMLElement;
  private readonly body: HTMLElement;
  private readonly empty: HTMLElement;

  constructor(
    readonly title: string,
    private readonly unit: Unit,
    private readonly source: () => ChartData,
    private readonly kind: 'lines' | 'bars' = 'lines',
  ) {
    const png = el(
      'vscode-button',
      { appearance: 'icon', title: 'Save as PNG', 'aria-label': `Save ${title} as PNG` },
      el('span', { class: 'codicon-text' }, 'PNG'),
    );
    png.addEventListener('click', () => this.savePng());
    this.body = el('div', { class: 'chart-body' });
    this.empty = el('div', { class: 'chart-empty' }, 'No data yet');
    this.card = el('section', { class: 'chart' }, el('header', {}, el('h3', {}, title), png), this.body, this.empty);
  }

  update(force = false): void {
    const data = this.source();
    const signature = data.series.map((s) => `${s.label}|${s.color}|${s.dash ? 1 : 0}`).join(';');
    this.empty.hidden = hasData(data);
    const width = Math.max(240, this.body.clientWidth || 400);
    if (!this.plot || force || signature !== this.signature) {
      this.plot?.destroy();
      this.signature = signature;
      this.plot = new uPlot(this.options(data, width), this.toAligned(data), this.body);
    } else {
      this.plot.setData(this.toAligned(data));
    }
  }

  resize(): void {
    if (this.plot) this.plot.setSize({ width: Math.max(240, this.body.clientWidth), height: 180 });
  }

  private toAligned(data: ChartData): uPlot.AlignedData {
    return [data.x, ...data.series.map((s) => s.values)] as uPlot.AlignedData;
  }

  private options(data: ChartData, width: number): uPlot.Options {
    const fg = cssVar('--vscode-foreground', '#ccc');
    const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
    const unit = this.unit;
    const bars = this.kind === 'bars';
    return {
      width,
      height: 180,
      scales: {
        x: bars ? { time: false, distr: 2 } : { time: true },
        y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(max ?? 1, unit === 'ms' ? 1 : 1) * 1.1] },
      },
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      axes: [
        {
          stroke: fg,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          ...(bars ? { values: (_u: uPlot, vals: number[]) => vals.map((v) => this.barLabel(v)) } : {}),
        },
        {
          stroke: fg,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 70,
          values: (_u: uPlot, vals: number[]) => vals.map((v) => formatValue(v, unit)),
          // Counts are whole numbers: no 0.5 ticks rounded to a repeated label.
          ...(unit === 'count'
            ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000, 1_000_000] }
            : {}),
        },
      ],
      series: [
        { label: bars ? 'bucket' : 'time', value: bars ? (_u: uPlot, v: number) => this.barLabel(v) : undefined },
        ...data.series.map((s) => ({
          label: s.label,
          stroke: color(s.color),
          width: s.dash ? 1 : 2,
          dash: s.dash ? [5, 4] : undefined,
          fill: bars ? color(s.color) : undefined,
          paths: bars ? uPlot.paths.bars!({ size: [0.8, 40] }) : undefined,
          spanGaps: false,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => formatValue(v, unit),
        })),
      ],
    };
  }

  /** Bucket upper bound in ms (x values of the histogram are the bucket bounds); the title carries the unit. */
  private barLabel(bound: number): string {
    return bound < 1 ? String(bound) : bound >= 1000 ? `${bound / 1000}s` : String(Math.round(bound));
  }

  /** The chart canvas with a title band and a legend, as PNG, saved by the host. */
  private savePng(): void {
    const plot = this.plot;
    if (!plot) return;
    const src = plot.ctx.canvas;
    const data = this.source();
    const ratio = src.width / Math.max(1, plot.width);
    const legendRows = Math.ceil(data.series.length / 3);
    const out = document.createElement('canvas');
    out.width = src.width;
    out.height = src.height + Math.round((28 + legendRows * 18) * ratio);
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = cssVar('--vscode-editor-background', '#1e1e1e');
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.scale(ratio, ratio);
    ctx.fillStyle = cssVar('--vscode-foreground', '#ccc');
    ctx.font = `600 13px ${cssVar('--vscode-font-family', 'sans-serif')}`;
    ctx.fillText(this.title, 8, 18);
    ctx.drawImage(src, 0, 26, plot.width, src.height / ratio);
    ctx.font = `12px ${cssVar('--vscode-font-family', 'sans-serif')}`;
    data.series.forEach((s, i) => {
      const x = 8 + (i % 3) * (plot.width / 3);
      const y = 26 + src.height / ratio + 16 + Math.floor(i / 3) * 18;
      ctx.fillStyle = color(s.color);
      ctx.fillRect(x, y - 9, 12, 4);
      ctx.fillStyle = cssVar('--vscode-foreground', '#ccc');
      ctx.fillText(s.label, x + 18, y - 3);
    });
    send({ type: 'savePng', dataUrl: out.toDataURL('image/png'), name: this.title });
  }
}

// ---- layout -------------------------------------------------------------------------------------------------

const app = document.getElementById('app')!;
app.classList.add('latency');
const title = el('h2', { class: 'title' }, 'Latency');
const intervalSelect = el('vscode-dropdown', { id: 'interval', title: 'Probe interval' });
for (const [ms, label] of [
  [500, 'every 0.5 s'],
  [1000, 'every 1 s'],
  [2000, 'every 2 s'],
  [5000, 'every 5 s'],
] as const) {
  intervalSelect.append(el('vscode-option', { value: String(ms) }, label));
}
const quantileSelect = el('vscode-dropdown', { id: 'quantiles', title: 'Quantiles plotted for the probes' });
for (const [value, label] of [
  ['p99,p50', 'p99 + p50'],
  ['p95', 'p95'],
  ['max', 'max'],
  ['p99,p95,p50,max', 'all'],
] as const) {
  quantileSelect.append(el('vscode-option', { value }, label));
}
const levelSelect = el('vscode-dropdown', { id: 'level', title: 'Load level' });
const loadButton = el('vscode-button', { id: 'load', appearance: 'primary' }, 'Run load test…');
const cancelButton = el('vscode-button', { id: 'cancel-load', appearance: 'secondary' }, 'Cancel');
cancelButton.hidden = true;
const csvButton = el('vscode-button', { appearance: 'secondary' }, 'Export CSV');
const jsonButton = el('vscode-button', { appearance: 'secondary' }, 'Export JSON');
const loadStatus = el('span', { class: 'load-status', id: 'load-status' });
const toolbar = el(
  'div',
  { class: 'toolbar' },
  title,
  intervalSelect,
  quantileSelect,
  levelSelect,
  loadButton,
  cancelButton,
  loadStatus,
  el('span', { class: 'spacer-flex' }),
  csvButton,
  jsonButton,
);
const probeGrid = el('div', { class: 'grid', id: 'probe-charts' });
const statsTable = el('table', { class: 'stats-table', id: 'probe-stats' });
const histEndpoint = el('vscode-dropdown', { id: 'hist-endpoint' });
const histOp = el('vscode-dropdown', { id: 'hist-op' });
const ownGrid = el('div', { class: 'grid' });
const ownTable = el('table', { class: 'stats-table', id: 'own-stats' });
const metricsNote = el('div', { class: 'note', id: 'metrics-note' });
const metricsGrid = el('div', { class: 'grid', id: 'metrics-charts' });
const banner = el('div', { class: 'banner', id: 'banner' });
banner.hidden = true;
app.append(
  toolbar,
  banner,
  el('h3', { class: 'section', id: 'probe-title' }, ''),
  probeGrid,
  statsTable,
  el('div', { class: 'row-controls' }, el('span', {}, 'Histogram of'), histEndpoint, histOp),
  el('h3', { class: 'section' }, "This extension's operations on the connection"),
  ownGrid,
  ownTable,
  el('h3', { class: 'section' }, 'Server metrics (/metrics of each member)'),
  metricsNote,
  metricsGrid,
);

let model = new LatencyModel([]);
let charts: Chart[] = [];
let histChart: Chart | undefined;
let ops: string[] = [];

function buildCharts(): void {
  probeGrid.replaceChildren();
  ownGrid.replaceChildren();
  metricsGrid.replaceChildren();
  charts = [];
  for (const op of ops)
    charts.push(place(probeGrid, new Chart(OP_LABELS[op] ?? op, 'ms', () => model.probeChart(op, shownQuantiles()))));
  charts.push(
    place(
      probeGrid,
      new Chart('Failed probes per tick (errors solid, timeouts dashed)', 'count', () => model.failureChart()),
    ),
  );
  histChart = place(
    probeGrid,
    new Chart('Latency histogram, ms (rolling window)', 'count', () => histogramData(), 'bars'),
  );
  charts.push(histChart);
  charts.push(place(ownGrid, new Chart('Extension operations — p99 by type', 'ms', () => model.ownChart())));
  const metric = (t: string, unit: Unit, names: string[]) =>
    charts.push(place(metricsGrid, new Chart(t, unit, () => model.metricChart(names))));
  metric('WAL fsync p99', 'ms', ['wal_fsync_p99_ms']);
  metric('Backend commit p99', 'ms', ['backend_commit_p99_ms']);
  metric('Peer round trip p99', 'ms', ['peer_rtt_p99_ms']);
  metric('Proposals committed (solid) / applied (dashed)', 'rate', [
    'proposals_committed_per_s',
    'proposals_applied_per_s',
  ]);
  metric('Proposals pending', 'count', ['proposals_pending']);
  metric('Proposals failed', 'rate', ['proposals_failed_per_s']);
  metric('Leader changes seen', 'count', ['leader_changes']);
  metric('DB size total (solid) / in use (dashed)', 'bytes', ['db_size_bytes', 'db_size_in_use_bytes']);
  charts.push(
    place(metricsGrid, new Chart('gRPC requests by method (all members)', 'rate', () => model.grpcChart('rate'))),
  );
  charts.push(
    place(metricsGrid, new Chart('gRPC failures by method (all members)', 'rate', () => model.grpcChart('errors'))),
  );
  charts.push(
    place(
      metricsGrid,
      new Chart('gRPC handling p99 by method (worst member; needs --metrics=extensive)', 'ms', () =>
        model.grpcChart('p99'),
      ),
    ),
  );
  charts.forEach((c) => c.update(true));
}

function shownQuantiles(): Quantile[] {
  return ((quantileSelect as unknown as { value: string }).value || 'p99,p50').split(',') as Quantile[];
}

function probeTitle(): void {
  const [first, ...rest] = shownQuantiles();
  const probeHeading = document.getElementById('probe-title')!;
  probeHeading.textContent = `Client probes — ${first} (solid)${rest.length ? ` and ${rest.join(', ')} (dashed)` : ''} over the rolling window, per member`;
}

function place(parent: HTMLElement, chart: Chart): Chart {
  parent.append(chart.card);
  return chart;
}

function histogramData(): ChartData {
  const endpoint = (histEndpoint as unknown as { value: string }).value || model.endpoints[0]?.url;
  const op = (histOp as unknown as { value: string }).value || ops[0];
  const h = endpoint && op ? model.histogram(endpoint, op) : undefined;
  if (!h) return { x: [], series: [] };
  const idx = model.endpoints.findIndex((e) => e.url === endpoint);
  return {
    x: h.bounds.map((b) => (Number.isFinite(b) ? b : h.bounds[h.bounds.length - 2] * 2)),
    series: [{ label: 'probes', color: Math.max(0, idx), values: h.counts }],
  };
}

function statsRow(cells: string[], header = false): HTMLTableRowElement {
  return el('tr', {}, ...cells.map((c) => el(header ? 'th' : 'td', {}, c)));
}

function renderTables(): void {
  const last = model.ticks[model.ticks.length - 1];
  const cols = ['count', 'p50', 'p95', 'p99', 'max', 'errors', 'timeouts'];
  const fmt = (s: StatsDto) => [
    String(s.count),
    formatValue(s.p50, 'ms'),
    formatValue(s.p95, 'ms'),
    formatValue(s.p99, 'ms'),
    formatValue(s.max, 'ms'),
    String(s.errors),
    String(s.timeouts),
  ];
  statsTable.replaceChildren(statsRow(['member', 'probe', ...cols], true));
  for (const p of last?.probes ?? []) {
    const name = model.endpoints.find((e) => e.url === p.endpoint)?.name ?? p.endpoint;
    const row = statsRow([name, OP_LABELS[p.op] ?? p.op, ...fmt(p.stats)]);
    if (p.stats.errors || p.stats.timeouts) row.classList.add('bad');
    statsTable.append(row);
  }
  ownTable.replaceChildren(statsRow(['operation', ...cols], true));
  const own = (last?.own ?? []).slice().sort((a, b) => b.stats.count - a.stats.count);
  for (const o of own) ownTable.append(statsRow([o.op, ...fmt(o.stats)]));
  if (!own.length)
    ownTable.append(
      statsRow(['No calls yet: browse keys, save values or run a Txn on this connection.', '', '', '', '', '', '', '']),
    );
}

function renderMetricsNote(): void {
  const problems = model.metricsProblems();
  metricsNote.textContent = problems.length
    ? `Metrics unavailable — ${problems.join('; ')}. Client probes continue.`
    : '';
  metricsNote.hidden = !problems.length;
}

let pending = false;
function redraw(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    charts.forEach((c) => c.update());
    renderTables();
    renderMetricsNote();
  });
}

function showLoad(load: LoadStateDto): void {
  const running = load.state === 'running';
  cancelButton.hidden = !running;
  (loadButton as unknown as { disabled: boolean }).disabled = running;
  loadStatus.textContent = running
    ? `Load test running: ${(load.done ?? 0).toLocaleString()} / ${(load.total ?? 0).toLocaleString()} writes${load.errors ? `, ${load.errors} errors` : ''}`
    : (load.message ?? load.state);
  loadStatus.className = `load-status ${load.state}`;
}

window.addEventListener('message', (event: MessageEvent<HostToLatency>) => {
  const m = event.data;
  switch (m.type) {
    case 'init': {
      vscode.setState({ profileId: m.profileId });
      title.textContent = `Latency · ${m.connection}`;
      model = new LatencyModel(m.endpoints);
      model.load(m.ticks, m.metrics);
      ops = m.ops;
      (intervalSelect as unknown as { value: string }).value = String(m.intervalMs);
      levelSelect.replaceChildren(...m.levels.map((l) => el('vscode-option', { value: l.id }, l.label)));
      (loadButton as unknown as { disabled: boolean }).disabled = m.readOnly;
      if (m.readOnly) loadButton.title = 'Read-only connection: no load test, no Put + Delete probe';
      histEndpoint.replaceChildren(...m.endpoints.map((e) => el('vscode-option', { value: e.url }, e.name)));
      histOp.replaceChildren(...m.ops.map((op) => el('vscode-option', { value: op }, OP_LABELS[op] ?? op)));
      probeTitle();
      buildCharts();
      redraw();
      return;
    }
    case 'tick':
      model.addTick(m.tick);
      redraw();
      return;
    case 'metrics':
      model.addMetrics(m.points);
      redraw();
      return;
    case 'load':
      showLoad(m.load);
      return;
    case 'error':
      banner.textContent = m.message;
      banner.hidden = false;
      return;
  }
});

intervalSelect.addEventListener('change', () =>
  send({ type: 'setInterval', ms: Number((intervalSelect as unknown as { value: string }).value) }),
);
loadButton.addEventListener('click', () =>
  send({ type: 'loadTest', level: (levelSelect as unknown as { value: string }).value || 's' }),
);
cancelButton.addEventListener('click', () => send({ type: 'cancelLoad' }));
csvButton.addEventListener('click', () => send({ type: 'export', format: 'csv' }));
jsonButton.addEventListener('click', () => send({ type: 'export', format: 'json' }));
quantileSelect.addEventListener('change', () => {
  probeTitle();
  charts.forEach((c) => c.update());
});
histEndpoint.addEventListener('change', () => histChart?.update(true));
histOp.addEventListener('change', () => histChart?.update(true));
new ResizeObserver(() => charts.forEach((c) => c.resize())).observe(app);
// Theme switch: VS Code changes the body class; rebuild so axes and series pick up the new colours.
new MutationObserver(() => charts.forEach((c) => c.update(true))).observe(document.body, {
  attributes: true,
  attributeFilter: ['class'],
});

send({ type: 'ready' });
