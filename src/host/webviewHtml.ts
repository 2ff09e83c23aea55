import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/**
 * HTML shell of a webview: strict CSP (default-src 'none'; scripts only by nonce; no inline handlers, no eval),
 * the bundle from dist/webview/<name>.js, the shared stylesheet and optionally the bundle's own CSS. Content is rendered by the bundle as text.
 */
export function webviewHtml(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  name: string,
  title: string,
  options: { stylesheet?: boolean } = {},
): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${name}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'webview.css'));
  // esbuild writes CSS the bundle imports (e.g. uPlot's) beside it as <name>.css.
  const bundleStyle = options.stylesheet
    ? webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${name}.css`))
    : undefined;
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">${bundleStyle ? `\n<link rel="stylesheet" href="${bundleStyle}">` : ''}
<title>${escapeHtml(title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
