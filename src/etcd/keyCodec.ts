/**
 * Lossless conversion between key bytes and display text. Valid UTF-8 shows as itself; bytes that are not
 * valid UTF-8, control characters and the backslash are escaped (`\xNN`, `\\`), so two different keys never
 * display the same and {@link parseDisplayKey} restores the exact bytes. Operations always use the bytes.
 */
export function displayKey(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) {
      out += hexEscape(bytes[i]);
      i += 1;
      continue;
    }
    const ch = Buffer.from(bytes.subarray(i, i + len)).toString('utf8');
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0))
      out += escapeControl(bytes.subarray(i, i + len));
    else out += ch;
    i += len;
  }
  return out;
}

/** Inverse of {@link displayKey}; also accepts hand-typed text (escapes optional). */
export function parseDisplayKey(text: string): Buffer {
  const parts: Buffer[] = [];
  let literal = '';
  const flush = () => {
    if (literal) parts.push(Buffer.from(literal, 'utf8'));
    literal = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && text[i + 1] === '\\') {
      literal += '\\';
      i++;
    } else if (c === '\\' && text[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      flush();
      parts.push(Buffer.from([parseInt(text.slice(i + 2, i + 4), 16)]));
      i += 3;
    } else {
      literal += c;
    }
  }
  flush();
  return Buffer.concat(parts);
}

/** Compact, URI-safe id of a key's bytes (tree ids, document URIs). */
export function keyId(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

export function keyFromId(id: string): Buffer {
  return Buffer.from(id, 'base64url');
}

/** True when the bytes are valid UTF-8 (so a value can be edited as text without loss). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) return false;
    i += len;
  }
  return true;
}

/** First key after every key that starts with `prefix` (etcd's range_end for a prefix). Empty prefix → "\0". */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): no upper bound, which etcd spells as "\0".
  return Buffer.from([0]);
}

function hexEscape(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}

function escapeControl(seq: Uint8Array): string {
  return Array.from(seq, hexEscape).join('');
}

/** Length of the well-formed UTF-8 sequence at `i`, or 0 when the byte there starts no valid sequence. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1];
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1];
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}
