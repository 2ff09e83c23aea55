import * as vscode from 'vscode';
import { EtcdExplorerError, errorText, isCancellation } from '../etcd/errors';
import { ConnectionProfile, LOCALHOST_PROFILE, TlsSettings, parseEndpoints } from '../etcd/profile';
import { Disposable, toAbortSignal } from '../util/disposable';
import { ConnectionManager } from './connectionManager';
import { shortId } from './statusBar';
import { CommandId } from '../host/commandIds';
import { prompts } from '../host/prompts';
import { commandTarget, registerCommand } from '../host/commandRegistrar';

/** A tree node or nothing (palette): commands resolve the target profile from either. */
type Target = { profileId: string } | undefined;

/** Add / edit / remove / connect / disconnect, from the view and the command palette. */
export class ConnectionCommands extends Disposable {
  constructor(private readonly manager: ConnectionManager) {
    super();
    const cmd = (id: CommandId, fn: (...args: any[]) => unknown) => this.register(registerCommand(id, fn));
    cmd('etcd.connection.add', () => this.add());
    cmd('etcd.connection.addLocalhost', () => this.addLocalhost());
    cmd('etcd.connection.edit', (t?: Target) => this.edit(t));
    cmd('etcd.connection.remove', (t?: Target) => this.remove(t));
    cmd('etcd.connection.connect', (t?: Target) => this.connect(t));
    cmd('etcd.connection.disconnect', (t?: Target) => this.disconnect(t));
    cmd('etcd.connection.pick', () => this.pick());
  }

  /** Guided add: endpoints → name → credentials → TLS, then connect. */
  async add(): Promise<string | undefined> {
    const endpointsText = await vscode.window.showInputBox({
      title: 'Add etcd Connection (1/4): Endpoints',
      prompt: 'Client URLs of one or more members, separated by commas. Calls fail over between them.',
      value: '127.0.0.1:2379',
      ignoreFocusOut: true,
      validateInput: (v) => validationMessage(() => parseEndpoints(v, false)),
    });
    if (endpointsText === undefined) return undefined;
    const wantsTls = /https:\/\//i.test(endpointsText);
    const endpoints = parseEndpoints(endpointsText, wantsTls);
    const name = await vscode.window.showInputBox({
      title: 'Add etcd Connection (2/4): Name',
      value: new URL(endpoints[0]).host,
      ignoreFocusOut: true,
      validateInput: (v) =>
        !v.trim()
          ? 'Enter a name.'
          : this.manager.profiles.some((p) => p.name === v.trim())
            ? 'A connection with this name exists.'
            : undefined,
    });
    if (name === undefined) return undefined;
    const credentials = await this.askCredentials('Add etcd Connection (3/4): Authentication');
    if (credentials === undefined) return undefined;
    const tls = await this.askTls('Add etcd Connection (4/4): Transport security', wantsTls);
    if (tls === undefined) return undefined;
    const profile: ConnectionProfile = {
      id: this.manager.newId(name.trim()),
      name: name.trim(),
      endpoints: parseEndpoints(endpointsText, tls !== null),
      tls: tls ?? undefined,
      username: credentials?.username,
    };
    await this.manager.add(profile, credentials?.password);
    await this.connect({ profileId: profile.id });
    return profile.id;
  }

  async addLocalhost(): Promise<void> {
    if (!this.manager.profile(LOCALHOST_PROFILE.id)) await this.manager.add(LOCALHOST_PROFILE);
    await this.connect({ profileId: LOCALHOST_PROFILE.id });
  }

  async edit(target: Target): Promise<void> {
    const profile = await this.resolve(target, 'Edit which connection?');
    if (!profile) return;
    type Field = vscode.QuickPickItem & { field: string };
    const items: Field[] = [
      { label: 'Name', description: profile.name, field: 'name' },
      { label: 'Endpoints', description: profile.endpoints.join(', '), field: 'endpoints' },
      { label: 'Namespace', description: profile.namespace ?? '(none)', field: 'namespace' },
      { label: 'Authentication', description: profile.username ? `user ${profile.username}` : '(none)', field: 'auth' },
      { label: 'Transport security', description: profile.tls ? 'TLS' : 'plain', field: 'tls' },
      { label: 'Request timeout', description: `${profile.timeoutMs ?? 5000} ms`, field: 'timeout' },
      { label: 'Read-only', description: profile.readOnly ? 'on' : 'off', field: 'readOnly' },
      { label: 'Open settings.json', field: 'json' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: `Edit "${profile.name}"`, ignoreFocusOut: true });
    if (!pick) return;
    let next: ConnectionProfile | undefined;
    let password: string | null | undefined;
    switch (pick.field) {
      case 'name': {
        const name = await vscode.window.showInputBox({
          title: 'Name',
          value: profile.name,
          validateInput: (v) => (v.trim() ? undefined : 'Enter a name.'),
        });
        if (name !== undefined) next = { ...profile, name: name.trim() };
        break;
      }
      case 'endpoints': {
        const text = await vscode.window.showInputBox({
          title: 'Endpoints',
          value: profile.endpoints.join(', '),
          validateInput: (v) => validationMessage(() => parseEndpoints(v, profile.tls !== undefined)),
        });
        if (text !== undefined) next = { ...profile, endpoints: parseEndpoints(text, profile.tls !== undefined) };
        break;
      }
      case 'namespace': {
        const ns = await vscode.window.showInputBox({
          title: 'Namespace prefix',
          prompt: 'Every key is read and written under this prefix (empty for none).',
          value: profile.namespace ?? '',
        });
        if (ns !== undefined) next = { ...profile, namespace: ns || undefined };
        break;
      }
      case 'auth': {
        const credentials = await this.askCredentials('Authentication', profile.username);
        if (credentials === undefined) break;
        next = { ...profile, username: credentials?.username };
        password = credentials ? credentials.password : null;
        break;
      }
      case 'tls': {
        const tls = await this.askTls('Transport security', profile.tls !== undefined);
        if (tls === undefined) break;
        const endpoints = profile.endpoints.map((e) => e.replace(/^https?:/, tls ? 'https:' : 'http:'));
        next = { ...profile, tls: tls ?? undefined, endpoints };
        break;
      }
      case 'timeout': {
        const text = await vscode.window.showInputBox({
          title: 'Request timeout (ms)',
          prompt: 'Deadline of every call; a dead or blackholed endpoint fails after this (times the retries).',
          value: String(profile.timeoutMs ?? 5000),
          validateInput: (v) =>
            /^\d+$/.test(v) && +v >= 100 && +v <= 600000
              ? undefined
              : 'Enter a number of milliseconds from 100 to 600000.',
        });
        if (text !== undefined) next = { ...profile, timeoutMs: Number(text) };
        break;
      }
      case 'readOnly':
        next = { ...profile, readOnly: !profile.readOnly };
        break;
      case 'json':
        await vscode.commands.executeCommand('workbench.action.openSettingsJson');
        return;
    }
    if (next) await this.manager.update(next, password);
  }

  async remove(target: Target): Promise<void> {
    const profile = await this.resolve(target, 'Remove which connection?');
    if (!profile) return;
    const ok = await prompts.confirm(
      `Remove the connection "${profile.name}"? Its saved password is deleted too. Nothing changes on the etcd cluster.`,
      undefined,
      'Remove',
    );
    if (ok) await this.manager.remove(profile.id);
  }

  async connect(target: Target): Promise<boolean> {
    const profile = await this.resolve(target, 'Connect to which etcd?');
    if (!profile) return false;
    try {
      const summary = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Connecting to ${profile.name}…`, cancellable: true },
        (_progress, token) => this.manager.connect(profile.id, toAbortSignal(token)),
      );
      vscode.window.setStatusBarMessage(
        `etcd: connected to ${profile.name} (etcd ${summary.version}, leader ${summary.leaderName ?? shortId(summary.leaderId)})`,
        4000,
      );
      return true;
    } catch (err) {
      if (isCancellation(err)) return false;
      const message = errorText(err);
      const pick = await vscode.window.showErrorMessage(message, 'Edit Connection', 'Show Log');
      if (pick === 'Edit Connection') await this.edit({ profileId: profile.id });
      if (pick === 'Show Log') await vscode.commands.executeCommand('etcd.showLog');
      return false;
    }
  }

  async disconnect(target: Target): Promise<void> {
    const profile = await this.resolve(target, 'Disconnect which connection?');
    if (profile) await this.manager.disconnect(profile.id);
  }

  /** Status bar: switch the active connection or manage connections. */
  async pick(): Promise<void> {
    const items: (vscode.QuickPickItem & { id?: string })[] = this.manager.profiles.map((p) => ({
      label: p.name,
      description: `${this.manager.existing(p.id)?.state ?? 'disconnected'} · ${p.endpoints.join(', ')}`,
      id: p.id,
    }));
    items.push({ label: '$(add) Add Connection…' });
    const pick = await vscode.window.showQuickPick(items, { title: 'etcd connections' });
    if (!pick) return;
    if (pick.id) await this.connect({ profileId: pick.id });
    else await this.add();
  }

  private async resolve(target: Target, title: string): Promise<ConnectionProfile | undefined> {
    const id = await commandTarget(this.manager, target, title, { preferActive: false });
    return id ? this.manager.profile(id) : undefined;
  }

  /** undefined = cancelled, null = no authentication. */
  private async askCredentials(
    title: string,
    currentUser?: string,
  ): Promise<{ username: string; password: string } | null | undefined> {
    const mode = await vscode.window.showQuickPick(
      [
        { label: 'No authentication', auth: false },
        { label: 'Username and password', description: 'password kept in the OS keychain (SecretStorage)', auth: true },
      ],
      { title, ignoreFocusOut: true },
    );
    if (!mode) return undefined;
    if (!mode.auth) return null;
    const username = await vscode.window.showInputBox({
      title: `${title}: username`,
      value: currentUser ?? 'root',
      ignoreFocusOut: true,
    });
    if (!username) return undefined;
    const password = await vscode.window.showInputBox({
      title: `${title}: password for ${username}`,
      password: true,
      ignoreFocusOut: true,
    });
    if (password === undefined) return undefined;
    return { username, password };
  }

  /** undefined = cancelled, null = plain http. */
  private async askTls(title: string, preferTls: boolean): Promise<TlsSettings | null | undefined> {
    const options = [
      { label: 'Plain (http)', mode: 'plain' },
      { label: 'TLS, verify the server with the system CAs', mode: 'system' },
      { label: 'TLS with a CA file…', mode: 'ca' },
      { label: 'TLS with a CA file and a client certificate…', mode: 'mtls' },
    ];
    if (preferTls) options.push(options.shift()!);
    const mode = await vscode.window.showQuickPick(options, { title, ignoreFocusOut: true });
    if (!mode) return undefined;
    if (mode.mode === 'plain') return null;
    if (mode.mode === 'system') return {};
    const caFile = await pickFile('Select the CA certificate (PEM)');
    if (!caFile) return undefined;
    if (mode.mode === 'ca') return { caFile };
    const certFile = await pickFile('Select the client certificate (PEM)');
    if (!certFile) return undefined;
    const keyFile = await pickFile('Select the client private key (PEM)');
    if (!keyFile) return undefined;
    return { caFile, certFile, keyFile };
  }
}

async function pickFile(title: string): Promise<string | undefined> {
  const uris = await vscode.window.showOpenDialog({ title, canSelectMany: false, openLabel: 'Select' });
  return uris?.[0]?.fsPath;
}

function validationMessage(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    return err instanceof EtcdExplorerError ? err.message : String(err);
  }
}
