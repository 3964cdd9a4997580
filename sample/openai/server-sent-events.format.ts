/** The event that ends an OpenAI stream. */
export const SSE_DONE_EVENT = 'data: [DONE]\n\n';

/** One Server-Sent Event carrying `data` as JSON. */
export function formatServerSentEvent(data: object): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

/** The wire form of an OpenAI stream: one event per chunk, then `data: [DONE]`. */
export async function* toServerSentEvents(chunks: AsyncIterable<object>): AsyncGenerator<string> {
  for await (const chunk of chunks) {
    yield formatServerSentEvent(chunk);
  }
  yield SSE_DONE_EVENT;
}
