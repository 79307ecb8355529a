// synccost.mjs: what jetstream { sync_interval: always } costs on this machine (docs/cluster.md):
// sequential and 64-in-flight publishes of 100 bytes to an R3 and an R1 file stream, on a
// 3-node cluster with and without it. `node tests/cluster/synccost.mjs` (not a test; about 30 s).
import { connect, StorageType } from 'nats';
import { startNatsCluster } from './natslib.mjs';
const enc = new TextEncoder();
for (const syncAlways of [true, false]) {
  const c = await startNatsCluster({ syncAlways });
  try {
    const nc = await connect({ servers: c.urls });
    const jsm = await nc.jetstreamManager(); const js = nc.jetstream();
    for (const r of [3, 1]) {
      const name = `S${r}`;
      await jsm.streams.add({ name, subjects: [name], storage: StorageType.File, num_replicas: r, allow_direct: true });
      await c.waitStreamLeader(name);
      const payload = enc.encode('x'.repeat(100));
      for (let i = 0; i < 200; i++) await js.publish(name, payload);
      const lat = [];
      let t0 = performance.now();
      for (let i = 0; i < 2000; i++) { const a = performance.now(); await js.publish(name, payload); lat.push(performance.now() - a); }
      const seqMs = performance.now() - t0;
      lat.sort((a, b) => a - b);
      t0 = performance.now();
      let sent = 0; const N = 20000;
      const worker = async () => { while (sent < N) { sent++; await js.publish(name, payload); } };
      await Promise.all(Array.from({ length: 64 }, worker));
      const parMs = performance.now() - t0;
      console.log(`sync_always=${syncAlways} R${r}: sequential ${(2000 / seqMs * 1000).toFixed(0)}/s p50 ${lat[1000].toFixed(2)} ms p99 ${lat[1980].toFixed(2)} ms; 64 in flight ${(N / parMs * 1000).toFixed(0)}/s`);
    }
    await nc.close();
  } finally { await c.stop(); }
}
