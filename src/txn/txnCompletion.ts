import * as vscode from 'vscode';

const TARGETS = ['mod_revision', 'version', 'create_revision', 'value', 'lease'];
const OPS = ['==', '!=', '<', '>'];

interface Snippet {
  readonly label: string;
  readonly detail: string;
  readonly body: string;
}

/** Items of a branch (`success:` / `failure:`) and of `compare:`, as snippets in the document's flow style. */
const BRANCH_ITEMS: Snippet[] = [
  {
    label: 'put',
    detail: 'write a value (optional lease id in hex)',
    body: '- put: { key: ${1:/key}, value: "${2:value}" }',
  },
  {
    label: 'put with lease',
    detail: 'write a value attached to a lease',
    body: '- put: { key: ${1:/key}, value: "${2:value}", lease: ${3:694d7a1c2b3f0a11} }',
  },
  { label: 'get', detail: 'read a key', body: '- get: { key: ${1:/key} }' },
  {
    label: 'get prefix',
    detail: 'read every key with a prefix',
    body: '- get: { key: ${1:/prefix/}, prefix: true${2:, limit: 100} }',
  },
  { label: 'delete', detail: 'delete a key', body: '- delete: { key: ${1:/key} }' },
  {
    label: 'delete prefix',
    detail: 'delete every key with a prefix',
    body: '- delete: { key: ${1:/prefix/}, prefix: true }',
  },
];
const COMPARE_ITEMS: Snippet[] = [
  {
    label: 'compare mod_revision',
    detail: 'compare-and-swap: the key is unchanged since revision N',
    body: '- key: ${1:/key}\n  target: mod_revision\n  op: "=="\n  value: ${2:0}',
  },
  {
    label: 'compare absent',
    detail: 'the key does not exist (create_revision == 0)',
    body: '- key: ${1:/key}\n  target: create_revision\n  op: "=="\n  value: 0',
  },
  {
    label: 'compare value',
    detail: 'the key holds this value',
    body: '- key: ${1:/key}\n  target: value\n  op: "=="\n  value: "${2:expected}"',
  },
  {
    label: 'compare version',
    detail: 'the key was written N times since creation',
    body: '- key: ${1:/key}\n  target: version\n  op: "${2|==,!=,<,>|}"\n  value: ${3:1}',
  },
];
const TOP_LEVEL: Snippet[] = [
  { label: 'compare', detail: 'conditions that choose the branch', body: 'compare:\n  ' },
  { label: 'success', detail: 'operations run when every compare holds', body: 'success:\n  ' },
  { label: 'failure', detail: 'operations run otherwise', body: 'failure:\n  ' },
];

/**
 * Completion for YAML Txn documents (JSON documents get it from the contributed JSON schema): top-level
 * sections, operation and compare snippets by section, and the allowed values of `target:` and `op:`.
 */
export class TxnCompletionProvider implements vscode.CompletionItemProvider {
  static register(): vscode.Disposable {
    return vscode.languages.registerCompletionItemProvider(
      [{ pattern: '**/*.etcdtxn.{yaml,yml}' }],
      new TxnCompletionProvider(),
      ':',
      ' ',
      '-',
    );
  }

  provideCompletionItems(document: vscode.TextDocument, position: vscode.Position): vscode.CompletionItem[] {
    const line = document.lineAt(position.line).text.slice(0, position.character);
    const value = /^\s*(?:-\s+)?(target|op):\s*"?([^"]*)$/.exec(line);
    if (value)
      return (value[1] === 'target' ? TARGETS : OPS).map((v) =>
        this.plain(v, value[1] === 'op' ? `"${v}"` : v, value[2]),
      );
    if (/^\S*$/.test(line)) return TOP_LEVEL.map((s) => this.snippet(s, vscode.CompletionItemKind.Module));
    const section = this.section(document, position.line);
    if (!/^\s*-?\s*\w*$/.test(line)) return [];
    const items = section === 'compare' ? COMPARE_ITEMS : section ? BRANCH_ITEMS : [];
    // The snippet brings its own "- ": replace one the user already typed.
    const dash = /-\s*\w*$/.exec(line);
    return items.map((s) => {
      const item = this.snippet(s, vscode.CompletionItemKind.Snippet);
      if (dash)
        item.range = new vscode.Range(
          position.line,
          position.character - dash[0].length,
          position.line,
          position.character,
        );
      return item;
    });
  }

  /** The top-level section the line belongs to (the nearest unindented `name:` above it). */
  private section(document: vscode.TextDocument, line: number): string | undefined {
    for (let i = line; i >= 0; i--) {
      const m = /^(compare|success|failure)\s*:/.exec(document.lineAt(i).text);
      if (m) return m[1];
      if (i < line && /^\S/.test(document.lineAt(i).text) && !document.lineAt(i).text.startsWith('#')) return undefined;
    }
    return undefined;
  }

  private snippet(s: Snippet, kind: vscode.CompletionItemKind): vscode.CompletionItem {
    const item = new vscode.CompletionItem(s.label, kind);
    item.detail = s.detail;
    item.insertText = new vscode.SnippetString(s.body);
    return item;
  }

  private plain(label: string, text: string, typed: string): vscode.CompletionItem {
    const item = new vscode.CompletionItem(label, vscode.CompletionItemKind.EnumMember);
    item.insertText = typed ? text.replace(/^"/, '') : ` ${text}`.trimStart();
    item.filterText = label;
    return item;
  }
}
