import 'reflect-metadata';
import { streamBenchModule } from './streaming-overhead.bench.js';
import { type AdapterName, createInjectableApp, unaryBenchModule } from './support/bench-app.js';

/** Hammers one route of the unary or streaming bench app, for `node --cpu-prof`: `profile-route.js <adapter> <route> <count> [stream]`. */
const [adapter = 'fastify', route = 'tracked', countArg = '20000', kind = 'unary'] = process.argv.slice(2);
const streaming = kind === 'stream';
const { app, request } = await createInjectableApp(streaming ? streamBenchModule() : unaryBenchModule(), adapter as AdapterName);
const payload = streaming ? { model: 'bench-model', stream: true } : { model: 'bench-model' };
const count = Number(countArg);
const start = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  await request(`/${route}`, payload);
}
console.log(`${route}: ${(Number(process.hrtime.bigint() - start) / 1000 / count).toFixed(2)} µs/request`);
await app.close();
