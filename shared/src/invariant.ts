// Assertions for programmer errors (TigerStyle): a broken precondition, postcondition or
// invariant means the code is wrong, not the input. Such errors are never mapped to userErrors;
// they propagate to the edge, which logs them with the correlation id.

export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new InvariantError(message);
  }
}
