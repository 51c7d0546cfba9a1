import { validateCardForm } from './cardForm.js';

const now = new Date(Date.UTC(2026, 4, 15));

describe('card form validation', () => {
  it('accepts spaces and dashes, two- or four-digit years, the current month', () => {
    expect(validateCardForm({ card_number: '4242 4242-4242 4242', exp_month: '5', exp_year: '26', cvc: '123' }, now)).toEqual({
      ok: true,
      card: { number: '4242424242424242', expMonth: 5, expYear: 2026 },
    });
  });

  it.each([
    [{ card_number: '4242', exp_month: '12', exp_year: '2030', cvc: '123' }, 'card number'],
    [{ card_number: '4242424242424242', exp_month: '4', exp_year: '2026', cvc: '123' }, 'in the past'],
    [{ card_number: '4242424242424242', exp_month: '0', exp_year: '2030', cvc: '123' }, 'month'],
    [{ card_number: '4242424242424242', exp_month: '12', exp_year: '230', cvc: '123' }, 'year'],
    [{ card_number: '4242424242424242', exp_month: '12', exp_year: '2030', cvc: '12a' }, 'security code'],
    [{}, 'card number'],
  ])('rejects %j', (form, message) => {
    const result = validateCardForm(form, now);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });
});
