import * as vscode from 'vscode';
import { MemberClients } from '../etcd/cluster';
import { ClusterSummary, EtcdConnection } from '../etcd/connection';
import { EtcdExplorerError, errorText } from '../etcd/errors';
import { Logger, componentLogger } from '../etcd/logger';
import { ConnectionProfile, validateProfile } from '../etcd/profile';
import { settings } from '../settings';
import { Disposable } from '../util/disposable';
import { SecretStore } from './secretStore';

/**
 * Owns the saved profiles (settings.json, no secrets) and one {@link EtcdConnection} per profile, reused for
 * every call. Replaces a connection when its profile changes; closes everything on dispose.
 */
export class ConnectionManager extends Disposable {
  private readonly connections = new Map<string, EtcdConnection>();
  private readonly memberPools = new Map<string, MemberClients>();
  private profileList: ConnectionProfile[] = [];
  private activeId: string | undefined;
  private readonly changeEmitter = this.register(new vscode.EventEmitter<void>());
  private readonly connectionEmitter = this.register(new vscode.EventEmitter<EtcdConnection>());
  private readonly log: Logger;

  /** Profiles were added, removed or edited. */
  readonly onDidChangeProfiles = this.changeEmitter.event;
  /** A connection changed state (connecting, connected, unreachable, disconnected). */
  readonly onDidChangeConnection = this.connectionEmitter.event;

  constructor(
    private readonly secrets: SecretStore,
    private readonly baseLog: Logger,
  ) {
    super();
    this.log = componentLogger(baseLog, 'connections');
    this.reload();
    this.register(settings.onDidChange('connections', () => this.reload()));
  }

  get profiles(): readonly ConnectionProfile[] {
    return this.profileList;
  }

  profile(id: string): ConnectionProfile | undefined {
    return this.profileList.find((p) => p.id === id);
  }

  /** The connection the status bar shows: the last one connected. */
  get active(): EtcdConnection | undefined {
    return this.activeId ? this.connections.get(this.activeId) : undefined;
  }

  /**
   * Asks which connection to use, among `ids` (default: all): the only one is taken without asking, and the
   * active one is marked. Undefined when there is none or the user cancels.
   */
  async pickProfile(
    title: string,
    ids: readonly string[] = this.profileList.map((p) => p.id),
  ): Promise<string | undefined> {
    if (ids.length <= 1) return ids[0];
    const active = this.activeId;
    const pick = await vscode.window.showQuickPick(
      ids.map((id) => ({ label: this.profile(id)?.name ?? id, id, description: id === active ? 'active' : undefined })),
      { title },
    );
    return pick?.id;
  }

  /** The existing connection of a profile, if it was ever opened. */
  existing(id: string): EtcdConnection | undefined {
    return this.connections.get(id);
  }

  /** The shared connection of a profile, created on first use. */
  async get(id: string): Promise<EtcdConnection> {
    const existing = this.connections.get(id);
    if (existing) return existing;
    const profile = this.profile(id);
    if (!profile) throw new EtcdExplorerError('config', `No connection named "${id}" exists.`);
    const password = profile.username ? await this.secrets.getPassword(profile.id) : undefined;
    const again = this.connections.get(id);
    if (again) return again;
    const connection = new EtcdConnection(profile, { password }, this.baseLog);
    connection.onDidChangeState(() => this.connectionEmitter.fire(connection));
    this.connections.set(id, connection);
    return connection;
  }

  /**
   * The profile's member clients (one client per member endpoint, for per-member Status, probes, defragment),
   * shared by the Cluster view, the doctor and the latency panels, and closed with the connection.
   */
  async memberClients(id: string): Promise<MemberClients> {
    const connection = await this.get(id);
    let pool = this.memberPools.get(id);
    if (!pool) {
      pool = new MemberClients(connection);
      this.memberPools.set(id, pool);
    }
    return pool;
  }

  /** Connects (Status + MemberList with the profile's deadline) and makes it the active connection. */
  async connect(id: string, signal?: AbortSignal): Promise<ClusterSummary> {
    const connection = await this.get(id);
    this.activeId = id;
    this.connectionEmitter.fire(connection);
    return connection.connect(signal);
  }

  /** The profile's connection, connected first if it is not (so it becomes the active one, like any other use). */
  async connected(id: string): Promise<EtcdConnection> {
    const connection = await this.get(id);
    if (connection.state !== 'connected') await this.connect(id);
    return connection;
  }

  /** Stops the connection's streams, then closes its client. */
  async disconnect(id: string): Promise<void> {
    const connection = this.connections.get(id);
    if (!connection) return;
    this.connections.delete(id);
    const pool = this.memberPools.get(id);
    this.memberPools.delete(id);
    await Promise.all([pool?.dispose(), connection.close()]);
    connection.dispose();
    if (this.activeId === id) this.activeId = undefined;
    this.connectionEmitter.fire(connection);
  }

  async add(profile: ConnectionProfile, password?: string): Promise<void> {
    if (this.profileList.some((p) => p.id === profile.id)) {
      throw new EtcdExplorerError('config', `A connection with the id "${profile.id}" already exists.`);
    }
    if (password !== undefined) await this.secrets.setPassword(profile.id, password);
    await this.save([...this.profileList, profile]);
  }

  /** Replaces a profile; its open connection is closed so the next use picks up the change. */
  async update(profile: ConnectionProfile, password?: string | null): Promise<void> {
    if (password === null) await this.secrets.deletePassword(profile.id);
    else if (password !== undefined) await this.secrets.setPassword(profile.id, password);
    await this.disconnect(profile.id);
    await this.save(this.profileList.map((p) => (p.id === profile.id ? profile : p)));
  }

  async remove(id: string): Promise<void> {
    await this.disconnect(id);
    await this.secrets.deletePassword(id);
    await this.save(this.profileList.filter((p) => p.id !== id));
  }

  /** A free id for a new profile named `name`. */
  newId(name: string): string {
    const base =
      name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '') || 'etcd';
    let id = base;
    for (let i = 2; this.profileList.some((p) => p.id === id); i++) id = `${base}-${i}`;
    return id;
  }

  override dispose(): void {
    for (const pool of this.memberPools.values()) void pool.dispose();
    this.memberPools.clear();
    for (const connection of this.connections.values()) {
      void connection.close();
      connection.dispose();
    }
    this.connections.clear();
    super.dispose();
  }

  /** Closes every connection and waits for it (deactivate). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.connections.keys()].map((id) => this.disconnect(id)));
  }

  private async save(profiles: ConnectionProfile[]): Promise<void> {
    await settings.saveConnections(profiles.map(toSettingsJson));
    this.reload();
  }

  private reload(): void {
    const next: ConnectionProfile[] = [];
    for (const raw of settings.connectionsRaw()) {
      try {
        const profile = validateProfile(raw);
        if (next.some((p) => p.id === profile.id)) {
          this.log.warn(`ignoring a second connection with id "${profile.id}" in settings`);
          continue;
        }
        next.push(profile);
      } catch (err) {
        const message = errorText(err);
        this.log.error(`invalid connection in settings: ${message}`);
        void vscode.window.showErrorMessage(`etcd: ${message}`, 'Open Settings').then((pick) => {
          if (pick) void vscode.commands.executeCommand('workbench.action.openSettingsJson');
        });
      }
    }
    // Connections whose profile changed or vanished are closed; the next use builds a fresh client.
    for (const [id, connection] of this.connections) {
      const profile = next.find((p) => p.id === id);
      if (!profile || JSON.stringify(profile) !== JSON.stringify(connection.profile)) void this.disconnect(id);
    }
    this.profileList = next;
    void vscode.commands.executeCommand('setContext', 'etcd.hasConnections', next.length > 0);
    this.changeEmitter.fire();
  }
}

/** The settings.json shape: defaults left out so the file stays readable. */
function toSettingsJson(p: ConnectionProfile): object {
  const out: Record<string, unknown> = { id: p.id, name: p.name, endpoints: p.endpoints };
  if (p.namespace) out.namespace = p.namespace;
  if (p.tls) out.tls = p.tls;
  if (p.username) out.username = p.username;
  if (p.timeoutMs !== undefined) out.timeoutMs = p.timeoutMs;
  if (p.retries !== undefined) out.retries = p.retries;
  if (p.readOnly) out.readOnly = true;
  return out;
}
