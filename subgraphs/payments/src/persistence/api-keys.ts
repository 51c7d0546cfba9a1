import { randomUUID } from 'node:crypto';
import type { Role } from '@clearhouse/shared';
import type { PaymentsPrisma } from './prisma.js';

export interface StoredApiKey {
  readonly id: string;
  readonly role: Role;
  readonly sellerId: string | null;
}

export interface ApiKeyRepository {
  findActiveByHash(keyHash: string): Promise<StoredApiKey | null>;
  /** Inserts the key unless one with this hash exists; returns the stored key either way. */
  ensure(keyHash: string, role: Role, sellerId: string | null, label: string): Promise<StoredApiKey>;
  insert(keyHash: string, role: Role, sellerId: string | null, label: string): Promise<StoredApiKey>;
}

function toStored(row: { id: string; role: string; sellerId: string | null }): StoredApiKey {
  return { id: row.id, role: row.role as Role, sellerId: row.sellerId };
}

export function prismaApiKeyRepository(prisma: PaymentsPrisma): ApiKeyRepository {
  return {
    async findActiveByHash(keyHash) {
      const row = await prisma.apiKey.findUnique({ where: { keyHash } });
      return row && !row.revokedAt ? toStored(row) : null;
    },
    async ensure(keyHash, role, sellerId, label) {
      const row = await prisma.apiKey.upsert({
        where: { keyHash },
        create: { id: `key_${randomUUID()}`, keyHash, role, sellerId, label },
        update: {},
      });
      return toStored(row);
    },
    async insert(keyHash, role, sellerId, label) {
      const row = await prisma.apiKey.create({ data: { id: `key_${randomUUID()}`, keyHash, role, sellerId, label } });
      return toStored(row);
    },
  };
}
