import type { KvStore } from '@/common/kv/kv-store';

/** Nothing is queued while the connection is still opening (the store fails fast instead): wait for it. */
export async function waitForConnection(store: KvStore): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await store.ping();
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
