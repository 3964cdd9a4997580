import { Agent, request as httpRequest } from 'node:http';

/** A deterministic pseudo-random generator (mulberry32), so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `tasks` with at most `concurrency` at once; fails if they are not all done by `deadlineMs`. */
export async function runBounded(tasks: (() => Promise<unknown>)[], concurrency: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      if (Date.now() > deadline) {
        throw new Error(`load did not finish within ${deadlineMs} ms (${next}/${tasks.length} started)`);
      }
      await tasks[next++]();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** How a load client treats the response. */
export type ClientBehaviour =
  | { kind: 'read' }
  /** Goes away after `chunks` body chunks. */
  | { kind: 'abandon'; chunks: number }
  /** Stops reading for `pauseMs` after the first chunk, then reads on. */
  | { kind: 'slow'; pauseMs: number };

/** POSTs `body` as JSON and treats the response as `behaviour` says. Resolves with the status (0 if abandoned before it). */
export function send(baseUrl: string, path: string, body: unknown, behaviour: ClientBehaviour, agent?: Agent): Promise<number> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, baseUrl),
      {
        method: 'POST',
        agent: behaviour.kind === 'abandon' ? false : agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let chunks = 0;
        res.on('data', () => {
          chunks += 1;
          if (behaviour.kind === 'abandon' && chunks >= behaviour.chunks) {
            req.destroy();
            resolve(res.statusCode ?? 0);
          } else if (behaviour.kind === 'slow' && chunks === 1) {
            res.pause();
            setTimeout(() => res.resume(), behaviour.pauseMs);
          }
        });
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (err) => (req.destroyed ? resolve(0) : reject(err)));
    req.end(payload);
  });
}
