import { homedir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { listMembers, memberEndpoints } from '../etcd/cluster';
import { EtcdConnection } from '../etcd/connection';
import { errorText, isCancellation } from '../etcd/errors';
import { LatencyProbe, LatencyStats, OperationRecorder, ProbeOp } from '../etcd/latency/latency';
import { LOAD_LEVELS, LoadLevel, runLoadTest } from '../etcd/latency/loadTest';
import { ServerMetricsSampler } from '../etcd/serverMetrics';
import { prompts } from '../host/prompts';
import { PanelEnvironment, WebviewPanelHost } from '../host/webviewPanelHost';
import {
  EndpointDto,
  HostToLatency,
  LatencyTickDto,
  LatencyToHost,
  MetricsPointDto,
  StatsDto,
  finiteOrNull,
  parseLatencyMessage,
} from '../shared/latencyProtocol';
import { RingBuffer } from '../shared/ringBuffer';
import { settings } from '../settings';
import { scrapeTls } from '../etcd/scrapeTls';

export const LATENCY_VIEW_TYPE = 'etcd.latency';
const OPS: ProbeOp[] = ['rangeSerializable', 'rangeLinearizable', 'putDelete', 'status'];
/** Ticks and metric scrapes kept for the graphs and the export (an hour at the default 1 s). */
const HISTORY = 3600;

/**
 * Hosts one latency panel: probes every member (own client per member) on an interval, records the
 * extension's own calls on the connection, scrapes each member's /metrics, runs load tests, and streams one
 * tick per interval to the webview. History is kept here so a hidden panel refills and exports are complete.
 */
export class LatencyPanel extends WebviewPanelHost<HostToLatency, LatencyToHost> {
  private readonly ticks = new RingBuffer<LatencyTickDto>(HISTORY);
  private readonly metrics = new RingBuffer<MetricsPointDto>(HISTORY * 4);
  private endpoints: EndpointDto[] = [];
  private probe: LatencyProbe | undefined;
  private recorder: OperationRecorder | undefined;
  private sampler: ServerMetricsSampler | undefined;
  private connection: EtcdConnection | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private scraping = false;
  private intervalMs = settings.latencyIntervalMs();
  private readonly tickFailures = new Map<string, { errors: number; timeouts: number }>();
  private load: AbortController | undefined;

  constructor(
    panel: vscode.WebviewPanel,
    env: PanelEnvironment,
    private readonly manager: ConnectionManager,
    readonly profileId: string,
  ) {
    // Ticks and scrapes are kept here and sent again with `init`; load-test progress is queued.
    super(panel, env, {
      bundle: 'latency',
      stylesheet: true,
      parse: parseLatencyMessage,
      resentOnReady: ['init', 'tick', 'metrics'],
    });
  }

  /** Starts probing and scraping; resolves once the first round is scheduled. */
  async start(): Promise<void> {
    const connection = await this.manager.connected(this.profileId);
    this.connection = connection;
    const members = await listMembers(connection).catch(() => []);
    const clients = await this.manager.memberClients(this.profileId);
    // Behind a port-forward the advertised URLs are unreachable; reach members through the profile's endpoints.
    const reach = await memberEndpoints(clients, connection.profile.endpoints, members);
    this.endpoints = members.length
      ? members.filter((m) => reach.has(m.id)).map((m) => ({ url: reach.get(m.id)!, name: m.name || reach.get(m.id)! }))
      : connection.profile.endpoints.map((url) => ({ url, name: url }));
    const windowMs = settings.latencyWindowSeconds() * 1000;
    this.probe = new LatencyProbe(connection, clients, {
      endpoints: this.endpoints.map((e) => e.url),
      intervalMs: this.intervalMs,
      windowMs,
      probePrefix: settings.latencyProbePrefix(),
      ops: OPS,
    });
    this.register(
      this.probe.onSample((s) => {
        if (s.outcome === 'ok') return;
        const key = `${s.endpoint}\n${s.op}`;
        const f = this.tickFailures.get(key) ?? { errors: 0, timeouts: 0 };
        if (s.outcome === 'timeout') f.timeouts++;
        else f.errors++;
        this.tickFailures.set(key, f);
      }),
    );
    this.recorder = new OperationRecorder(connection, windowMs);
    this.sampler = new ServerMetricsSampler({ timeoutMs: connection.timeoutMs, tls: scrapeTls(connection.profile) });
    this.probe.start();
    this.schedule();
    this.sendInit();
  }

  /** Ticks so far (tests read them). */
  get history(): readonly LatencyTickDto[] {
    return this.ticks.toArray();
  }

  get metricsHistory(): readonly MetricsPointDto[] {
    return this.metrics.toArray();
  }

  /** Runs a load test after confirmation; progress in a notification and in the panel. */
  async loadTest(level: string): Promise<string | undefined> {
    const connection = this.connection;
    if (!connection) return undefined;
    if (!(level in LOAD_LEVELS)) throw new Error(`Unknown load level "${level}".`);
    if (this.load) throw new Error('A load test is already running in this panel.');
    connection.assertWritable('run a load test');
    const spec = LOAD_LEVELS[level as LoadLevel];
    const prefix = settings.latencyLoadTestPrefix();
    const ok = await prompts.confirm(
      `Run the ${spec.label} load test against ${connection.profile.name}?`,
      `${spec.totalOps.toLocaleString()} puts of ${spec.valueBytes} bytes from ${spec.clients} concurrent clients under ${prefix}. Everything written is deleted afterwards; nothing is compacted. Other users of this cluster will see higher latency while it runs.`,
      'Run Load Test',
    );
    if (!ok) return undefined;
    const controller = new AbortController();
    this.load = controller;
    this.post({ type: 'load', load: { state: 'running', level, done: 0, total: spec.totalOps, errors: 0 } });
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Load test (${spec.label})`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          let last = 0;
          return runLoadTest(connection, spec, {
            prefix,
            signal: controller.signal,
            onProgress: (p) => {
              const pct = (p.done / p.total) * 100;
              progress.report({
                message: `${p.done.toLocaleString()} of ${p.total.toLocaleString()} writes`,
                increment: pct - last,
              });
              last = pct;
              this.post({
                type: 'load',
                load: { state: 'running', level, done: p.done, total: p.total, errors: p.errors },
              });
            },
          });
        },
      );
      const message = `${result.cancelled ? 'Cancelled after' : 'Wrote'} ${result.written.toLocaleString()} keys in ${result.seconds.toFixed(1)} s: ${Math.round(result.opsPerSecond).toLocaleString()} writes/s, p50 ${fmt(result.latency.p50)} · p99 ${fmt(result.latency.p99)} · max ${fmt(result.latency.max)}${result.errors ? `, ${result.errors} errors` : ''}; deleted ${result.cleanedUp.toLocaleString()} keys afterwards.`;
      this.post({
        type: 'load',
        load: {
          state: result.cancelled ? 'cancelled' : 'done',
          level,
          done: result.written,
          total: spec.totalOps,
          errors: result.errors,
          message,
        },
      });
      void vscode.window.showInformationMessage(`Load test on ${connection.profile.name}: ${message}`);
      return message;
    } catch (err) {
      this.post({ type: 'load', load: { state: 'failed', level, message: errorText(err) } });
      if (!isCancellation(err)) throw err;
      return undefined;
    } finally {
      this.load = undefined;
    }
  }

  override dispose(): void {
    clearInterval(this.tickTimer);
    clearInterval(this.metricsTimer);
    this.load?.abort();
    void this.probe?.stop();
    this.recorder?.dispose();
    super.dispose();
  }

  private schedule(): void {
    clearInterval(this.tickTimer);
    clearInterval(this.metricsTimer);
    this.tickTimer = setInterval(() => this.tick(), this.intervalMs);
    // /metrics is a few hundred KB per member: scrape every other tick, at most every 2 s.
    this.metricsTimer = setInterval(() => void this.scrape(), Math.max(2000, this.intervalMs * 2));
    void this.scrape();
  }

  private tick(): void {
    const probe = this.probe;
    if (!probe) return;
    const probes = [];
    for (const e of this.endpoints) {
      for (const op of OPS) {
        if (op === 'putDelete' && this.connection?.readOnly) continue;
        const failures = this.tickFailures.get(`${e.url}\n${op}`);
        probes.push({
          endpoint: e.url,
          op,
          stats: statsDto(probe.stats(e.url, op)),
          histogram: probe.histogram(e.url, op),
          tickErrors: failures?.errors ?? 0,
          tickTimeouts: failures?.timeouts ?? 0,
        });
      }
    }
    this.tickFailures.clear();
    const own = [...(this.recorder?.stats() ?? new Map<string, LatencyStats>())].map(([op, stats]) => ({
      op,
      stats: statsDto(stats),
    }));
    const tick: LatencyTickDto = { at: Date.now(), probes, own };
    this.ticks.push(tick);
    this.post({ type: 'tick', tick });
  }

  private async scrape(): Promise<void> {
    if (!this.sampler || this.scraping) return;
    this.scraping = true;
    try {
      const points = await this.sampler.sample(this.endpoints.map((e) => e.url));
      const dtos = points.map((p) => ({ at: p.at, endpoint: p.endpoint, ok: p.ok, error: p.error, values: p.values }));
      this.metrics.pushAll(dtos);
      this.post({ type: 'metrics', points: dtos });
    } finally {
      this.scraping = false;
    }
  }

  protected onReady(): void {
    this.sendInit();
    this.remember({ profileId: this.profileId });
  }

  private sendInit(): void {
    if (!this.connection) return;
    this.post({
      type: 'init',
      profileId: this.profileId,
      connection: this.connection.profile.name,
      endpoints: this.endpoints,
      ops: OPS.filter((op) => op !== 'putDelete' || !this.connection?.readOnly),
      intervalMs: this.intervalMs,
      windowMs: settings.latencyWindowSeconds() * 1000,
      readOnly: this.connection.readOnly,
      levels: Object.entries(LOAD_LEVELS).map(([id, l]) => ({ id, label: l.label })),
      ticks: this.ticks.toArray(),
      metrics: this.metrics.toArray(),
    });
  }

  protected async onMessage(message: Exclude<LatencyToHost, { type: 'ready' }>): Promise<void> {
    switch (message.type) {
      case 'setInterval':
        this.intervalMs = message.ms;
        this.probe?.setInterval(message.ms);
        this.schedule();
        return;
      case 'loadTest':
        await this.loadTest(message.level);
        return;
      case 'cancelLoad':
        this.load?.abort();
        return;
      case 'export':
        await this.export(message.format);
        return;
      case 'savePng':
        await this.savePng(message.dataUrl, message.name);
        return;
      default: {
        const never: never = message;
        return never;
      }
    }
  }

  /** Every tick and metric point kept, as CSV (one row per series value) or JSON. */
  exportText(format: 'csv' | 'json'): string {
    const ticks = this.ticks.toArray();
    const metrics = this.metrics.toArray();
    if (format === 'json')
      return JSON.stringify(
        { connection: this.connection?.profile.name, endpoints: this.endpoints, ticks, metrics },
        null,
        1,
      );
    const rows = ['time,source,endpoint,series,value'];
    const csv = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    for (const t of ticks) {
      const time = new Date(t.at).toISOString();
      for (const p of t.probes) {
        for (const [k, v] of Object.entries(p.stats))
          if (v !== null) rows.push([time, 'probe', csv(p.endpoint), csv(`${p.op}.${k}`), String(v)].join(','));
      }
      for (const o of t.own) {
        for (const [k, v] of Object.entries(o.stats))
          if (v !== null) rows.push([time, 'extension', '', csv(`${o.op}.${k}`), String(v)].join(','));
      }
    }
    for (const m of metrics) {
      const time = new Date(m.at).toISOString();
      if (!m.ok) rows.push([time, 'metrics', csv(m.endpoint), 'unreachable', ''].join(','));
      for (const [k, v] of Object.entries(m.values))
        rows.push([time, 'metrics', csv(m.endpoint), csv(k), String(v)].join(','));
    }
    return rows.join('\n') + '\n';
  }

  private async export(format: 'csv' | 'json'): Promise<void> {
    await this.saveAs(
      { title: 'Export latency data', filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] } },
      Buffer.from(this.exportText(format), 'utf8'),
      (target) => `Exported the latency data to ${target.fsPath}.`,
    );
  }

  private async savePng(dataUrl: string, name: string): Promise<void> {
    const safe =
      name
        .replace(/[^\w.]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 60)
        .toLowerCase() || 'chart';
    const dir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? homedir();
    await this.saveAs(
      { title: 'Save chart as PNG', filters: { PNG: ['png'] }, defaultUri: vscode.Uri.file(join(dir, `${safe}.png`)) },
      Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64'),
      (target) => `Saved ${target.fsPath}.`,
    );
  }
}

function statsDto(s: LatencyStats): StatsDto {
  return {
    count: s.count,
    errors: s.errors,
    timeouts: s.timeouts,
    p50: finiteOrNull(s.p50),
    p95: finiteOrNull(s.p95),
    p99: finiteOrNull(s.p99),
    max: finiteOrNull(s.max),
    mean: finiteOrNull(s.mean),
  };
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms` : '–';
}
