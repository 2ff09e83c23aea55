import * as vscode from 'vscode';
import { Disposable } from './disposable';

/** Keeps this many generated documents; older ones say they are gone (the editor may still show its copy). */
const MAX_DOCUMENTS = 100;

/**
 * Read-only generated documents (reports, Txn results) under one URI scheme: `set()` stores or replaces a
 * document's text and tells open editors to refresh; `showMarkdown()` / `showText()` open one.
 */
export class ReadOnlyDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changeEmitter = this.register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changeEmitter.event;

  constructor(readonly scheme: string) {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(scheme, this));
  }

  uri(path: string): vscode.Uri {
    return vscode.Uri.from({ scheme: this.scheme, path: path.startsWith('/') ? path : `/${path}` });
  }

  set(uri: vscode.Uri, text: string): void {
    const key = uri.toString();
    this.texts.delete(key);
    this.texts.set(key, text);
    while (this.texts.size > MAX_DOCUMENTS) this.texts.delete(this.texts.keys().next().value!);
    this.changeEmitter.fire(uri);
  }

  text(uri: vscode.Uri): string | undefined {
    return this.texts.get(uri.toString());
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? 'This generated document is no longer available.\n';
  }

  /** Opens a Markdown document rendered in the Markdown preview. */
  async showMarkdown(uri: vscode.Uri, text?: string): Promise<vscode.Uri> {
    if (text !== undefined) this.set(uri, text);
    await vscode.commands.executeCommand('markdown.showPreview', uri);
    return uri;
  }

  /** Opens a document as text beside the active editor, in `language`. */
  async showText(uri: vscode.Uri, text: string, language: string): Promise<vscode.Uri> {
    this.set(uri, text);
    const doc = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(uri), language);
    await vscode.window.showTextDocument(doc, {
      viewColumn: vscode.ViewColumn.Beside,
      preview: true,
      preserveFocus: true,
    });
    return uri;
  }
}
