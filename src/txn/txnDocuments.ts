import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { EtcdExplorerError } from '../etcd/errors';
import { DryRunResult, TxnResult, dryRunTxn, runTxn } from '../etcd/txn/txn';
import { TxnFormat, parseTxnDocument } from '../etcd/txn/txnDocument';
import { renderTxnResult } from '../etcd/txn/txnRender';
import { settings } from '../settings';
import { registerCommand } from '../host/commandRegistrar';
import { CommandId } from '../host/commandIds';
import { Disposable, toAbortSignal } from '../util/disposable';
import { ReadOnlyDocuments } from '../util/readOnlyDocuments';

const TXN_FILE = /\.etcdtxn\.(ya?ml|json)$/i;

/** Txn documents are files named *.etcdtxn.yaml / *.etcdtxn.yml / *.etcdtxn.json (saved or untitled). */
export function txnFormat(document: vscode.TextDocument): TxnFormat | undefined {
  const m = TXN_FILE.exec(document.uri.path);
  if (!m) return undefined;
  return m[1].toLowerCase() === 'json' ? 'json' : 'yaml';
}

/**
 * Txn documents as playgrounds: diagnostics on every change (parse + validate, with positions), CodeLenses
 * "Run against <connection>", "Dry run" and "Connection…" on the first line, and results opened beside as a
 * read-only YAML document. Nothing is sent while the document has errors.
 */
export class TxnDocuments extends Disposable implements vscode.CodeLensProvider {
  private readonly diagnostics = this.register(vscode.languages.createDiagnosticCollection('etcd-txn'));
  private readonly lensEmitter = this.register(new vscode.EventEmitter<void>());
  /** Connection chosen per document (by URI); otherwise the active connection. */
  private readonly chosen = new Map<string, string>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private resultCounter = 0;

  readonly onDidChangeCodeLenses = this.lensEmitter.event;

  constructor(
    private readonly manager: ConnectionManager,
    private readonly reports: ReadOnlyDocuments,
  ) {
    super();
    const selector: vscode.DocumentSelector = [{ pattern: '**/*.etcdtxn.{yaml,yml,json}' }];
    this.register(vscode.languages.registerCodeLensProvider(selector, this));
    this.register(vscode.workspace.onDidOpenTextDocument((d) => this.validate(d)));
    this.register(vscode.workspace.onDidChangeTextDocument((e) => this.validateSoon(e.document)));
    this.register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.diagnostics.delete(d.uri);
        this.chosen.delete(d.uri.toString());
      }),
    );
    this.register(manager.onDidChangeProfiles(() => this.lensEmitter.fire()));
    this.register(manager.onDidChangeConnection(() => this.lensEmitter.fire()));
    this.register(settings.onDidChange('txn', () => vscode.workspace.textDocuments.forEach((d) => this.validate(d))));
    this.register({ dispose: () => this.pending.forEach((t) => clearTimeout(t)) });
    vscode.workspace.textDocuments.forEach((d) => this.validate(d));

    const cmd = (id: CommandId, fn: (...args: any[]) => Promise<unknown>) => this.register(registerCommand(id, fn));
    cmd('etcd.txn.run', (uri?: vscode.Uri) => this.execute(uri, false));
    cmd('etcd.txn.dryRun', (uri?: vscode.Uri) => this.execute(uri, true));
    cmd('etcd.txn.chooseConnection', (uri?: vscode.Uri) => this.chooseConnection(uri));
  }

  /** Validates now and returns the diagnostics set (tests use it). */
  validate(document: vscode.TextDocument): vscode.Diagnostic[] | undefined {
    const format = txnFormat(document);
    if (!format) return undefined;
    const parsed = parseTxnDocument(document.getText(), format, { maxTxnOps: settings.maxTxnOps() });
    const diagnostics = parsed.diagnostics.map((d) => {
      const range = new vscode.Range(document.positionAt(d.start), document.positionAt(Math.max(d.end, d.start)));
      const diagnostic = new vscode.Diagnostic(
        range,
        d.message,
        d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
      );
      diagnostic.source = 'etcd txn';
      return diagnostic;
    });
    this.diagnostics.set(document.uri, diagnostics);
    return diagnostics;
  }

  private validateSoon(document: vscode.TextDocument): void {
    if (!txnFormat(document)) return;
    const key = document.uri.toString();
    clearTimeout(this.pending.get(key));
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        this.validate(document);
      }, 150),
    );
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!txnFormat(document)) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const profileId = this.connectionFor(document.uri);
    const name = profileId ? (this.manager.profile(profileId)?.name ?? profileId) : undefined;
    if (!name)
      return [
        new vscode.CodeLens(top, {
          title: '$(plug) Add an etcd connection to run this Txn',
          command: 'etcd.connection.add',
        }),
      ];
    const readOnly = this.manager.profile(profileId!)?.readOnly;
    return [
      new vscode.CodeLens(top, {
        title: `$(play) Run against ${name}${readOnly ? ' (read-only)' : ''}`,
        command: 'etcd.txn.run',
        arguments: [document.uri],
      }),
      new vscode.CodeLens(top, {
        title: '$(debug-alt) Dry run',
        tooltip: 'Evaluate the compares at the current revision without writing',
        command: 'etcd.txn.dryRun',
        arguments: [document.uri],
      }),
      new vscode.CodeLens(top, {
        title: '$(server-environment) Connection…',
        command: 'etcd.txn.chooseConnection',
        arguments: [document.uri],
      }),
    ];
  }

  /** The connection a document runs against: chosen for it, else the active one, else the only one. */
  connectionFor(uri: vscode.Uri): string | undefined {
    const chosen = this.chosen.get(uri.toString());
    if (chosen && this.manager.profile(chosen)) return chosen;
    return (
      this.manager.active?.profile.id ?? (this.manager.profiles.length === 1 ? this.manager.profiles[0].id : undefined)
    );
  }

  setConnection(uri: vscode.Uri, profileId: string): void {
    this.chosen.set(uri.toString(), profileId);
    this.lensEmitter.fire();
  }

  private async chooseConnection(uri?: vscode.Uri): Promise<void> {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!target) return;
    const pick = await vscode.window.showQuickPick(
      this.manager.profiles.map((p) => ({
        label: p.name,
        description: [p.endpoints.join(', '), p.readOnly ? 'read-only' : ''].filter(Boolean).join(' · '),
        id: p.id,
      })),
      { title: 'Run this Txn against' },
    );
    if (pick) this.setConnection(target, pick.id);
  }

  /** Runs (or dry-runs) a Txn document; returns the result document's URI (tests use it). */
  async execute(uri: vscode.Uri | undefined, dryRun: boolean): Promise<vscode.Uri | undefined> {
    const document = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    if (!document) return undefined;
    const format = txnFormat(document);
    if (!format)
      throw new EtcdExplorerError('invalid', 'This is not a Txn document: name it *.etcdtxn.yaml or *.etcdtxn.json.');
    const parsed = parseTxnDocument(document.getText(), format, { maxTxnOps: settings.maxTxnOps() });
    this.validate(document);
    const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
    if (!parsed.spec || errors.length) {
      throw new EtcdExplorerError(
        'invalid',
        `The Txn has ${errors.length || 'some'} problem${errors.length === 1 ? '' : 's'} (see the Problems panel); nothing was sent. First: ${errors[0]?.message ?? 'the document is empty.'}`,
      );
    }
    const profileId = this.connectionFor(document.uri);
    if (!profileId) throw new EtcdExplorerError('config', 'No etcd connection to run against: add one first.');
    const connection = await this.manager.connected(profileId);
    const spec = parsed.spec;
    const result = await vscode.window.withProgress<TxnResult | DryRunResult>(
      {
        location: vscode.ProgressLocation.Notification,
        title: `${dryRun ? 'Dry-running' : 'Running'} the Txn against ${connection.profile.name}…`,
        cancellable: true,
      },
      (_p, token) =>
        dryRun
          ? dryRunTxn(connection, spec, { signal: toAbortSignal(token) })
          : runTxn(connection, spec, { signal: toAbortSignal(token), maxTxnOps: settings.maxTxnOps() }),
    );
    return this.showResult(renderTxnResult(result, connection.profile.name), dryRun ? 'dry-run' : 'result');
  }

  /** Opens a rendered result beside the document, read-only. */
  async showResult(text: string, label: string): Promise<vscode.Uri> {
    return this.reports.showText(this.reports.uri(`txn-${label}-${++this.resultCounter}.yaml`), text, 'yaml');
  }
}
