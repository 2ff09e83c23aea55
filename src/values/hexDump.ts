/** Classic 16-bytes-per-line hex dump with an ASCII column (read-only view of binary values). */
export function hexDump(bytes: Uint8Array, maxBytes = 256 * 1024): string {
  const lines: string[] = [];
  const shown = Math.min(bytes.length, maxBytes);
  for (let offset = 0; offset < shown; offset += 16) {
    const row = bytes.subarray(offset, Math.min(offset + 16, shown));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  if (bytes.length > shown) lines.push(`… ${bytes.length - shown} more bytes not shown`);
  lines.push(
    `(${bytes.length} bytes, base64: ${bytes.length <= 4096 ? Buffer.from(bytes).toString('base64') : 'too long to show'})`,
  );
  return lines.join('\n') + '\n';
}
