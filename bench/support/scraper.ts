import { Agent, get } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * A scraper in a process of its own, as Prometheus is: `scraper.js <port>
 * <rounds> <path>…` fetches each path in turn, `rounds` times, over one
 * keep-alive connection, reading each body to its end without keeping it,
 * and prints the milliseconds of each fetch (request sent → last byte
 * received) and the body's size, as JSON.
 */
const [port, rounds, ...paths] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function scrape(path: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    get({ host: '127.0.0.1', port: Number(port), path, agent, headers: { accept: 'text/plain;version=0.0.4' } }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve({ ms: performance.now() - start, bytes })
          : reject(new Error(`${path}: ${response.statusCode}`)),
      );
      response.on('error', reject);
    }).on('error', reject);
  });
}

const results: Record<string, { ms: number[]; bytes: number }> = {};
for (const path of paths) {
  results[path] = { ms: [], bytes: (await scrape(path)).bytes };
}
for (let round = 0; round < Number(rounds); round++) {
  for (let i = 0; i < paths.length; i++) {
    const path = paths[(round + i) % paths.length];
    results[path].ms.push((await scrape(path)).ms);
  }
}
agent.destroy();
process.stdout.write(`${JSON.stringify(results)}\n`);
