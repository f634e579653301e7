/** Vendors' answers (SMS gateways, identity services) are read up to this size, never more. */
export const MAX_VENDOR_ANSWER_BYTES = 64 * 1024;

/**
 * The body of a fetch() answer as text, or null when it is larger than `maxBytes`: the rest is
 * not read (the stream is cancelled), so a misbehaving gateway cannot fill our memory.
 */
export async function readBoundedText(response: Response, maxBytes = MAX_VENDOR_ANSWER_BYTES): Promise<string | null> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
