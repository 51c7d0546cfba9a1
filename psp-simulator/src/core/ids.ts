import { randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

// Random bytes are drawn in blocks: one syscall per ~170 ids instead of one per id.
const poolBytes = 4096;
let pool = randomBytes(poolBytes);
let poolOffset = 0;

function randomToken(length: number): string {
  if (poolOffset + length > poolBytes) {
    pool = randomBytes(poolBytes);
    poolOffset = 0;
  }
  let token = '';
  for (let i = 0; i < length; i++) token += alphabet[(pool[poolOffset + i] ?? 0) % alphabet.length];
  poolOffset += length;
  return token;
}

/** Stripe-looking ids: `pi_3Px...` (24 random characters after the prefix). */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(24)}`;
}

export function newSecret(id: string): string {
  return `${id}_secret_${randomToken(25)}`;
}
