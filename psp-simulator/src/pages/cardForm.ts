// Validation of the hosted page's card form, as a card element does before anything is sent
// to the PSP: a malformed or expired card never reaches the payment intent.

export interface CardForm {
  number: string;
  expMonth: number;
  expYear: number;
}

export type CardFormResult = { ok: true; card: CardForm } | { ok: false; message: string };

function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value.trim() : '';
}

export function validateCardForm(form: Record<string, unknown>, now: Date): CardFormResult {
  const number = field(form, 'card_number').replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(number)) return { ok: false, message: 'Your card number is incomplete or invalid.' };
  const monthText = field(form, 'exp_month');
  const yearText = field(form, 'exp_year');
  if (!/^\d{1,2}$/.test(monthText) || Number(monthText) < 1 || Number(monthText) > 12) {
    return { ok: false, message: "Your card's expiration month is invalid." };
  }
  if (!/^(\d{2}|\d{4})$/.test(yearText)) return { ok: false, message: "Your card's expiration year is invalid." };
  const expMonth = Number(monthText);
  const expYear = yearText.length === 2 ? 2000 + Number(yearText) : Number(yearText);
  const currentMonthIndex = now.getUTCFullYear() * 12 + now.getUTCMonth();
  const expiryMonthIndex = expYear * 12 + (expMonth - 1);
  if (expiryMonthIndex < currentMonthIndex) return { ok: false, message: "Your card's expiration date is in the past." };
  if (expYear > now.getUTCFullYear() + 50) return { ok: false, message: "Your card's expiration year is invalid." };
  if (!/^\d{3,4}$/.test(field(form, 'cvc'))) return { ok: false, message: "Your card's security code is incomplete." };
  return { ok: true, card: { number, expMonth, expYear } };
}
