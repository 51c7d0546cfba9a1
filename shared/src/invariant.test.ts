import { InvariantError, invariant } from './invariant.js';

describe('invariant', () => {
  it('passes on truthy conditions and throws InvariantError otherwise', () => {
    expect(() => invariant(1, 'never')).not.toThrow();
    expect(() => invariant(0, 'broken')).toThrow(InvariantError);
    expect(() => invariant(null, 'broken')).toThrow('broken');
    try {
      invariant(false, 'x');
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('InvariantError');
    }
  });
});
