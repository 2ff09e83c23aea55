/** Language id for a value whose key has no telling extension, guessed from the content. */
export function detectLanguage(key: string, text: string): string | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase();
  const byExt: Record<string, string> = {
    json: 'json',
    yaml: 'yaml',
    yml: 'yaml',
    xml: 'xml',
    toml: 'toml',
    ini: 'ini',
    properties: 'properties',
    sh: 'shellscript',
    md: 'markdown',
    html: 'html',
    js: 'javascript',
    ts: 'typescript',
    sql: 'sql',
    txt: 'plaintext',
  };
  if (ext && byExt[ext]) return byExt[ext];
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  if (/^[{[]/.test(trimmed)) {
    try {
      JSON.parse(trimmed);
      return 'json';
    } catch {
      // not JSON after all
    }
  }
  if (/^<(\?xml|[A-Za-z][\w:-]*[\s>/])/.test(trimmed)) return 'xml';
  const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() && !/^\s*#/.test(l));
  if (
    lines.length &&
    lines.some((l) => /^\s*\[[^\]]+\]\s*$/.test(l)) &&
    lines.every((l) => /^\s*(\[[^\]]+\]|[\w.-]+\s*=)/.test(l))
  )
    return 'toml';
  if (
    lines.length &&
    lines.every((l) => /^\s*(-\s|[\w.-]+:(\s|$)|\S.*:\s)/.test(l) || /^\s+\S/.test(l)) &&
    lines.some((l) => /^[\w.-]+:/.test(l))
  ) {
    return 'yaml';
  }
  return undefined;
}
