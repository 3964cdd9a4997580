import { spawnSync, spawn } from 'node:child_process';
import { ResponseShapesAppModule } from './app/response-shapes.app.module.js';
import { scrape, startApp } from './support/http.js';

it('load', async () => {
  const a = await startApp(ResponseShapesAppModule.register());
  for (const conc of [16, 32, 64]) {
  const out = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, ['/tmp/loadtest/load.mjs', a.baseUrl, '30000', '30000', String(conc), 'm' + conc + '-'], { env: { ...process.env, NODE_OPTIONS: '' } });
    let s = ''; child.stdout.on('data', (d) => (s += d)); child.stderr.on('data', (d) => (s += d)); child.on('close', () => resolve(s));
  });
  console.log(conc, out, process.memoryUsage().heapUsed);
  }
  const t = await scrape(a.baseUrl);
  console.log(t.length);
  await a.close();
}, 200000);
