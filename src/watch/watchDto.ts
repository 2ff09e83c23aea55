import { displayKey, isValidUtf8 } from '../etcd/keyCodec';
import { WatchEvent } from '../etcd/watch';
import { WatchEventDto } from '../shared/watchProtocol';

const PREVIEW_CHARS = 200;

/** Display form of a value: text preview (escaped as text by the webview), or a hex preview of binary bytes. */
export function valuePreview(value: Buffer): { preview: string; binary: boolean } {
  if (!isValidUtf8(value)) return { preview: value.subarray(0, 32).toString('hex'), binary: true };
  const text = value.subarray(0, PREVIEW_CHARS * 4).toString('utf8');
  return { preview: text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text, binary: false };
}

export function toDto(e: WatchEvent, watchId: string, seq: number, time: number): WatchEventDto {
  const { preview, binary } = e.type === 'delete' ? { preview: '', binary: false } : valuePreview(e.value);
  return {
    seq,
    watchId,
    time,
    type: e.type,
    key: displayKey(e.key),
    keyB64: e.key.toString('base64'),
    preview,
    size: e.value.length,
    binary,
    modRevision: e.modRevision,
    createRevision: e.createRevision,
    version: e.version,
    lease: e.lease,
  };
}
