/**
 * `npm run bench:watch` — the watch pipeline under load, headless: Txn-batched writes for 10 s into a prefix,
 * ResilientWatch → event DTOs → EventBatcher (≤ 60 flushes/s) → a structured clone per message (what
 * postMessage does) → the webview's WatchViewModel. Baseline in the same run: one message per event into a
 * second model. Prints lost/duplicated events (by revision and key) and the message rates.
 */
import { EtcdConnection } from '../src/etcd/connection';
import { silentLogger } from '../src/etcd/logger';
import { ResilientWatch } from '../src/etcd/watch';
import { EventBatcher } from '../src/watch/eventBatcher';
import { toDto } from '../src/watch/watchDto';
import { WatchEventDto } from '../src/shared/watchProtocol';
import { WatchViewModel } from '../src/webview/watch/model';
import { EtcdCluster } from '../test/rig/etcd';

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const TXN_OPS = 100;
const CAPACITY = 10_000;

async function main(): Promise<void> {
  const cluster = await EtcdCluster.start({ quotaBackendBytes: 4 * 1024 ** 3 });
  const writer = new EtcdConnection(
    { id: 'w', name: 'w', endpoints: cluster.endpoints, timeoutMs: 30_000 },
    {},
    silentLogger,
  );
  const reader = new EtcdConnection(
    { id: 'r', name: 'r', endpoints: cluster.endpoints, timeoutMs: 30_000 },
    {},
    silentLogger,
  );
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  try {
    const ours = new WatchViewModel(CAPACITY);
    const baseline = new WatchViewModel(CAPACITY);
    let baselineMessages = 0;
    const seen = new Set<string>();
    let dup = 0;
    let received = 0;
    const batcher = new EventBatcher<WatchEventDto>((events, dropped) => {
      const message = structuredClone({ type: 'events', events, dropped });
      ours.apply(message.events, message.dropped);
    }, 1_000_000);

    const watch = new ResilientWatch(reader, { key: Buffer.from('/bw/'), prefix: true, progressIntervalMs: 0 });
    let seq = 0;
    watch.onEvents((events) => {
      const now = Date.now();
      const dtos = events.map((e) => toDto(e, 'w1', seq++, now));
      for (const d of dtos) {
        const id = `${d.modRevision}|${d.key}`;
        if (seen.has(id)) dup++;
        seen.add(id);
      }
      received += dtos.length;
      batcher.push(dtos);
      // Baseline: one message per event.
      for (const d of dtos) {
        const message = structuredClone({ type: 'events', events: [d], dropped: 0 });
        baselineMessages++;
        baseline.apply(message.events);
      }
    });
    watch.start();
    while (watch.status.state !== 'live') await new Promise((r) => setTimeout(r, 10));

    const value = Buffer.from('x'.repeat(40));
    let written = 0;
    let batchNo = 0;
    const started = performance.now();
    const deadline = started + DURATION_MS;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (performance.now() < deadline) {
          const b = batchNo++;
          const success = Array.from({ length: TXN_OPS }, (_, i) => ({
            request_put: { key: Buffer.from(`/bw/k${(b * TXN_OPS + i) % 50_000}`), value },
          }));
          await writer.write('put batch', (c) => c.kv.txn({ compare: [], success, failure: [] }));
          written += TXN_OPS;
        }
      }),
    );
    const writeSeconds = (performance.now() - started) / 1000;
    const waitUntil = Date.now() + 30_000;
    while (received < written && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const seconds = Math.max(writeSeconds, (performance.now() - started) / 1000);
    watch.stop();
    batcher.dispose();
    const lost = written - received + dup;
    console.log(
      `wrote ${written} events in ${writeSeconds.toFixed(1)} s (${Math.round(written / writeSeconds)}/s); ` +
        `ours: ${batcher.flushes} messages, model holds ${ours.size} (dropped ${ours.dropped}); baseline: ${baselineMessages} messages`,
    );
    console.log(
      `RESULT watch events=${written} received=${received} lost=${Math.max(0, lost)} dup=${dup} ` +
        `batches_per_s=${(batcher.flushes / seconds).toFixed(1)} baseline_msgs_per_s=${(baselineMessages / seconds).toFixed(0)} ` +
        `peak_rss_mb=${(peakRss / 1024 / 1024).toFixed(0)}`,
    );
  } finally {
    clearInterval(sampler);
    await writer.close();
    await reader.close();
    await cluster.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
