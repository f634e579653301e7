import { FindOptionsWhere, In, ObjectLiteral, Repository } from 'typeorm';

/**
 * Deletes rows a batch at a time: `nextKeys(limit)` names up to `limit` primary keys still to go, and
 * each batch is one DELETE by those keys, so no statement touches more than `batchSize` rows however
 * large the backlog. Safe on several instances at once: a key another one deleted first counts 0.
 * `beforeDelete` removes what depends on a batch (child rows) before the batch itself goes.
 */
export async function deleteInBatches<T extends ObjectLiteral>(
  repository: Repository<T>,
  key: keyof T & string,
  batchSize: number,
  nextKeys: (limit: number) => Promise<string[]>,
  beforeDelete?: (keys: string[]) => Promise<void>,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const keys = await nextKeys(batchSize);
    if (!keys.length) return deleted;
    await beforeDelete?.(keys);
    const result = await repository.delete({ [key]: In(keys) } as FindOptionsWhere<T>);
    deleted += result.affected ?? 0;
    if (keys.length < batchSize) return deleted;
  }
}
