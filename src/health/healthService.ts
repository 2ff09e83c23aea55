import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { errorText, isCancellation } from '../etcd/errors';
import { CheckOptions, DEFAULT_THRESHOLDS, HealthDoctor, HealthReport } from '../etcd/health';
import { settings } from '../settings';
import { Disposable } from '../util/disposable';
import { scrapeTls } from '../etcd/scrapeTls';

/**
 * One {@link HealthDoctor} per connection (it keeps the history the rate rules need), the last report of each,
 * and a periodic re-check of connected clusters (etcd.health.intervalSeconds; 0 = only on demand).
 */
export class HealthService extends Disposable {
  private readonly doctors = new Map<string, HealthDoctor>();
  private readonly reports = new Map<string, HealthReport>();
  private readonly errors = new Map<string, string>();
  private readonly running = new Map<string, Promise<HealthReport>>();
  private readonly changeEmitter = this.register(new vscode.EventEmitter<string>());
  private timer: NodeJS.Timeout | undefined;

  /** A connection's report (or its failure) changed. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly manager: ConnectionManager) {
    super();
    this.register(
      manager.onDidChangeConnection((c) => {
        if (c.state === 'disconnected') this.forget(c.profile.id);
      }),
    );
    this.register(
      manager.onDidChangeProfiles(() => {
        // An edited profile gets a new connection: its doctor (and history) starts over.
        for (const id of [...this.doctors.keys()]) this.forget(id);
      }),
    );
    this.register(settings.onDidChange('health', () => this.schedule()));
    this.register({ dispose: () => clearInterval(this.timer) });
    this.schedule();
  }

  report(profileId: string): HealthReport | undefined {
    return this.reports.get(profileId);
  }

  /** Why the last check of a connection could not run at all (e.g. the cluster is unreachable). */
  error(profileId: string): string | undefined {
    return this.errors.get(profileId);
  }

  /** Profiles that have a report or an error. */
  get checked(): string[] {
    return [...new Set([...this.reports.keys(), ...this.errors.keys()])];
  }

  /**
   * Runs the doctor once; concurrent calls for one connection share the run. `thorough: false` (the periodic
   * checks) skips the keyspace-wide HashKV and value scan and reuses their last results.
   */
  check(profileId: string, signal?: AbortSignal, options: CheckOptions = {}): Promise<HealthReport> {
    const inFlight = this.running.get(profileId);
    if (inFlight) return inFlight;
    const run = this.run(profileId, signal, options).finally(() => this.running.delete(profileId));
    this.running.set(profileId, run);
    return run;
  }

  private async run(profileId: string, signal: AbortSignal | undefined, options: CheckOptions): Promise<HealthReport> {
    try {
      const doctor = await this.doctor(profileId);
      const report = await doctor.check(signal, options);
      this.reports.set(profileId, report);
      this.errors.delete(profileId);
      return report;
    } catch (err) {
      if (!isCancellation(err)) this.errors.set(profileId, errorText(err));
      throw err;
    } finally {
      this.changeEmitter.fire(profileId);
    }
  }

  private async doctor(profileId: string): Promise<HealthDoctor> {
    let doctor = this.doctors.get(profileId);
    if (!doctor) {
      const connection = await this.manager.get(profileId);
      doctor = new HealthDoctor(connection, await this.manager.memberClients(profileId), {
        scrapeTls: scrapeTls(connection.profile),
        scanLargeValues: settings.healthScanLargeValues(),
        // Checks farther apart than this break a condition's run; automatic checks must not, however rare.
        thresholds: {
          maxCheckGapMs: Math.max(DEFAULT_THRESHOLDS.maxCheckGapMs, 3 * settings.healthIntervalSeconds() * 1000),
        },
      });
      this.doctors.set(profileId, doctor);
    }
    return doctor;
  }

  private schedule(): void {
    clearInterval(this.timer);
    const seconds = settings.healthIntervalSeconds();
    if (!seconds) return;
    this.timer = setInterval(() => {
      for (const profile of this.manager.profiles) {
        if (this.manager.existing(profile.id)?.state === 'connected')
          this.check(profile.id, undefined, { thorough: false }).catch(() => undefined);
      }
    }, seconds * 1000);
  }

  private forget(profileId: string): void {
    this.doctors.delete(profileId);
    const had = this.reports.delete(profileId) || this.errors.delete(profileId);
    if (had) this.changeEmitter.fire(profileId);
  }
}
