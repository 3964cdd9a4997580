import 'reflect-metadata';
import { type AdapterName, createInjectableApp, unaryBenchModule } from './support/bench-app.js';

/** Hammers one route of the unary bench app, to be run under `node --cpu-prof`. */
const [adapter = 'fastify', route = 'tracked', countArg = '20000'] = process.argv.slice(2);
const { app, request } = await createInjectableApp(unaryBenchModule(), adapter as AdapterName);
const count = Number(countArg);
const start = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  await request(`/${route}`, { model: 'bench-model' });
}
console.log(`${route}: ${(Number(process.hrtime.bigint() - start) / 1000 / count).toFixed(2)} µs/request`);
await app.close();
