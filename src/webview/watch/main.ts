/**
 * Watch panel webview. Renders events as text only (keys and values are attacker-controlled), in a
 * virtualized list over a bounded model; talks to the host through src/shared/watchProtocol.ts.
 */
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { HostToWatch, WatchEventDto, WatchInfo, WatchStatusDto, WatchToHost } from '../../shared/watchProtocol';
import { staleSinceText } from '../../shared/staleness';
import { el } from '../dom';
import { registerToolkit } from '../toolkit';
import { WatchViewModel } from './model';

declare function acquireVsCodeApi(): { postMessage(message: WatchToHost): void; setState(state: unknown): void };

const vscode = acquireVsCodeApi();
const send = (message: WatchToHost) => vscode.postMessage(message);
registerToolkit();

const ROW_HEIGHT = 22;
let model = new WatchViewModel(10_000);
let watches: WatchInfo[] = [];
const statuses = new Map<string, WatchStatusDto>();
/** Highest revision delivered per watch (progress notifications only confirm it later). */
const delivered = new Map<string, bigint>();
let paused = false;
let follow = true;
let selected: number | undefined;

const app = document.getElementById('app')!;
const pauseButton = el('vscode-button', { appearance: 'secondary', id: 'pause' }, 'Pause');
const clearButton = el('vscode-button', { appearance: 'secondary', id: 'clear' }, 'Clear');
const exportButton = el('vscode-button', { appearance: 'secondary', id: 'export' }, 'Export NDJSON');
const addButton = el('vscode-button', { appearance: 'primary', id: 'add' }, 'Add watch…');
const recordBox = el('vscode-checkbox', { id: 'record' }, 'Record all');
const filterField = el('vscode-text-field', { placeholder: 'Filter keys', id: 'filter' });
const typeSelect = el(
  'vscode-dropdown',
  { id: 'type' },
  el('vscode-option', { value: 'all' }, 'PUT + DELETE'),
  el('vscode-option', { value: 'put' }, 'PUT'),
  el('vscode-option', { value: 'delete' }, 'DELETE'),
);
const stats = el('span', { class: 'stats', id: 'stats' });
const statusBar = el('div', { class: 'watches', id: 'watches' });
const header = el(
  'div',
  { class: 'row header' },
  ...['time', 'type', 'rev', 'key', 'value', 'lease'].map((h) => el('span', { class: h }, h)),
);
const scroller = el('div', { class: 'scroller', id: 'events' });
const spacer = el('div', { class: 'spacer' });
scroller.append(spacer);
const details = el('div', { class: 'details', id: 'details' });
app.append(
  el(
    'div',
    { class: 'toolbar' },
    addButton,
    pauseButton,
    clearButton,
    exportButton,
    recordBox,
    filterField,
    typeSelect,
    stats,
  ),
  statusBar,
  header,
  scroller,
  details,
);

const virtualizer = new Virtualizer<HTMLDivElement, HTMLDivElement>({
  count: 0,
  getScrollElement: () => scroller,
  estimateSize: () => ROW_HEIGHT,
  overscan: 10,
  scrollToFn: elementScroll,
  observeElementRect,
  observeElementOffset,
  onChange: () => renderRows(),
});
virtualizer._didMount();
virtualizer._willUpdate();

function time(ms: number): string {
  const d = new Date(ms);
  return `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function leaseText(lease: string): string {
  return lease === '0' ? '' : BigInt(lease).toString(16);
}

function row(e: WatchEventDto, top: number): HTMLDivElement {
  const div = el(
    'div',
    { class: `row event ${e.type}${selected === e.seq ? ' selected' : ''}`, 'data-seq': String(e.seq) },
    el('span', { class: 'time' }, time(e.time)),
    el('span', { class: `type ${e.type}` }, e.type === 'put' ? 'PUT' : 'DELETE'),
    el('span', { class: 'rev' }, e.modRevision),
    el('span', { class: 'key', title: e.key }, e.key),
    el('span', { class: 'value' }, e.binary ? `⟨binary ${e.size} B⟩ ${e.preview}` : e.preview),
    el('span', { class: 'lease' }, leaseText(e.lease)),
  );
  // Through the CSSOM: the CSP (no 'unsafe-inline') blocks style attributes.
  div.style.transform = `translateY(${top}px)`;
  return div;
}

function renderRows(): void {
  const rows = model.rows();
  spacer.style.height = `${virtualizer.getTotalSize()}px`;
  const items = virtualizer.getVirtualItems();
  const fragment = document.createDocumentFragment();
  for (const item of items) {
    const e = rows[item.index];
    if (e) fragment.append(row(e, item.start));
  }
  scroller.replaceChildren(spacer, fragment);
}

function renderStats(): void {
  const rate = model.rate();
  stats.textContent = `${model.total.toLocaleString()} events · ${rate.toLocaleString()}/s · ${model.size.toLocaleString()} in view${
    model.dropped ? ` · ${model.dropped.toLocaleString()} dropped from view` : ''
  }${paused ? ' · paused (buffering)' : ''}`;
}

function renderWatches(): void {
  statusBar.replaceChildren(
    ...watches.map((w) => {
      const s = statuses.get(w.id);
      const state = s?.state ?? 'connecting';
      const from: Record<string, string> = s?.endpoint
        ? { title: `${state === 'live' ? 'reading from' : 'last member'} ${s.endpoint}` }
        : {};
      const parts: (Node | string)[] = [
        el('span', { class: `state ${state}`, ...from }, state),
        ' ',
        el('span', { class: 'label' }, w.label),
      ];
      const confirmed = s?.revision ? BigInt(s.revision) : 0n;
      const seen = delivered.get(w.id) ?? 0n;
      const at = confirmed > seen ? confirmed : seen;
      if (at > 0n) parts.push(` · at revision ${at}`);
      if (s?.reconnects) parts.push(` · resumed ${s.reconnects}×`);
      if (s?.staleSince !== undefined && state !== 'live')
        parts.push(el('span', { class: 'stale' }, ` · ${staleSinceText(s.staleSince)}`));
      if ((state === 'reconnecting' || state === 'stale') && s?.message)
        parts.push(el('span', { class: 'message' }, ` · ${s.message}`));
      if (state === 'compacted') {
        parts.push(
          el(
            'span',
            { class: 'message' },
            ` · events before revision ${s?.compactRevision} were compacted; events between the last one shown and it are lost to history. `,
          ),
        );
        const resync = el(
          'vscode-button',
          { appearance: 'secondary', 'data-resync': w.id },
          'Resync (continue from now)',
        );
        parts.push(resync);
      }
      const remove = el('vscode-button', { appearance: 'icon', 'aria-label': 'Stop watch', 'data-remove': w.id }, '✕');
      parts.push(' ', remove);
      return el('div', { class: 'watch' }, ...parts);
    }),
  );
}

function renderDetails(prev?: string): void {
  const e = selected === undefined ? undefined : model.find(selected);
  if (!e) {
    details.replaceChildren();
    return;
  }
  const fields: [string, string][] = [
    ['key', e.key],
    ['type', e.type.toUpperCase()],
    ['mod revision', e.modRevision],
    ['create revision', e.createRevision],
    ['version', e.version],
    ['lease', e.lease === '0' ? 'none' : `${leaseText(e.lease)} (${e.lease})`],
    ['value', e.binary ? `binary, ${e.size} bytes: ${e.preview}` : e.preview],
  ];
  if (prev !== undefined) fields.push(['previous value', prev]);
  details.replaceChildren(
    el('dl', {}, ...fields.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    el('vscode-button', { appearance: 'secondary', 'data-prev': String(e.seq) }, 'Previous value'),
    ' ',
    el('vscode-button', { appearance: 'secondary', 'data-copy': String(e.seq) }, 'Copy event'),
  );
}

function refresh(): void {
  const count = model.rows().length;
  virtualizer.setOptions({ ...virtualizer.options, count });
  virtualizer._willUpdate();
  if (follow && count) virtualizer.scrollToIndex(count - 1, { align: 'end' });
  renderRows();
  renderStats();
}

window.addEventListener('message', (event: MessageEvent<HostToWatch>) => {
  const message = event.data;
  switch (message.type) {
    case 'init':
      model = new WatchViewModel(message.capacity);
      watches = message.watches;
      (recordBox as unknown as { checked: boolean }).checked = message.recording;
      renderWatches();
      refresh();
      break;
    case 'events': {
      model.apply(message.events, message.dropped);
      const before = new Map(delivered);
      for (const e of message.events) {
        const rev = BigInt(e.modRevision);
        if (rev > (delivered.get(e.watchId) ?? 0n)) delivered.set(e.watchId, rev);
      }
      if ([...delivered].some(([id, rev]) => before.get(id) !== rev)) renderWatches();
      refresh();
      break;
    }
    case 'status':
      statuses.set(message.status.watchId, message.status);
      renderWatches();
      break;
    case 'watches':
      watches = message.watches;
      renderWatches();
      break;
    case 'prevValue':
      if (message.seq === selected) renderDetails(message.text);
      break;
    case 'cleared':
      model.clear();
      selected = undefined;
      renderDetails();
      refresh();
      break;
    case 'persist':
      vscode.setState(message.state);
      break;
  }
});

app.addEventListener('click', (event) => {
  const target = event.target as HTMLElement;
  const button = target.closest('[data-resync],[data-remove],[data-prev],[data-copy]') as HTMLElement | null;
  if (button?.dataset.resync) send({ type: 'resync', watchId: button.dataset.resync });
  else if (button?.dataset.remove) send({ type: 'removeWatch', watchId: button.dataset.remove });
  else if (button?.dataset.prev) send({ type: 'prevValue', seq: Number(button.dataset.prev) });
  else if (button?.dataset.copy) send({ type: 'copy', seq: Number(button.dataset.copy) });
  const rowEl = target.closest('.event') as HTMLElement | null;
  if (rowEl?.dataset.seq) {
    selected = Number(rowEl.dataset.seq);
    renderDetails();
    renderRows();
  }
});
addButton.addEventListener('click', () => send({ type: 'addWatch' }));
clearButton.addEventListener('click', () => send({ type: 'clear' }));
exportButton.addEventListener('click', () => send({ type: 'export' }));
pauseButton.addEventListener('click', () => {
  paused = !paused;
  pauseButton.textContent = paused ? 'Resume' : 'Pause';
  send({ type: 'pause', paused });
  renderStats();
});
recordBox.addEventListener('change', () =>
  send({ type: 'record', on: (recordBox as unknown as { checked: boolean }).checked }),
);
const applyFilter = () => {
  model.setFilter({
    text: (filterField as unknown as { value: string }).value ?? '',
    type: ((typeSelect as unknown as { value: string }).value ?? 'all') as 'all' | 'put' | 'delete',
  });
  refresh();
};
filterField.addEventListener('input', applyFilter);
typeSelect.addEventListener('change', applyFilter);
scroller.addEventListener('scroll', () => {
  follow = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - ROW_HEIGHT * 2;
});
setInterval(renderStats, 1000);
send({ type: 'ready' });
