// The hosted pages' HTML: self-contained (inline CSS, no scripts, no external assets).

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const css = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;background:#f6f9fc;color:#1a1f36}
main{max-width:420px;margin:48px auto;padding:0 16px}
.card{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(50,50,93,.12);padding:28px}
h1{font-size:20px;margin:0 0 4px}
.merchant{color:#697386;font-size:14px;margin:0 0 20px}
.amount{font-size:32px;font-weight:600;margin:0 0 16px}
.items{list-style:none;padding:0;margin:0 0 20px;font-size:14px;color:#3c4257}
.items li{display:flex;justify-content:space-between;padding:4px 0;border-bottom:1px solid #eef1f5}
label{display:block;font-size:13px;font-weight:500;color:#3c4257;margin:14px 0 6px}
input{width:100%;font-size:16px;padding:10px 12px;border:1px solid #cfd7df;border-radius:6px;background:#fff}
input:focus{outline:none;border-color:#635bff;box-shadow:0 0 0 3px rgba(99,91,255,.2)}
.row{display:flex;gap:12px}.row>div{flex:1}
button{width:100%;margin-top:22px;padding:12px;font-size:16px;font-weight:600;color:#fff;background:#635bff;border:0;border-radius:6px;cursor:pointer}
button.secondary{background:#fff;color:#3c4257;border:1px solid #cfd7df}
button:hover{filter:brightness(1.05)}
.error{background:#fff1f0;border:1px solid #ffccc7;color:#a8071a;padding:10px 12px;border-radius:6px;font-size:14px;margin:0 0 8px}
.ok{color:#0e6245}.bad{color:#a8071a}
.note{font-size:12px;color:#8792a2;margin-top:18px;text-align:center}
a{color:#635bff}
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${css}</style></head>
<body><main><div class="card">${body}</div>
<p class="note">Clearhouse PSP simulator — test mode. No real card is charged.</p></main></body></html>`;
}

export interface PaymentFormView {
  action: string;
  amountText: string;
  items: { name: string; quantity: number; amountText: string }[];
  error?: string;
  values?: { expMonth?: string; expYear?: string };
}

export function paymentFormPage(view: PaymentFormView): string {
  const items = view.items.map((item) => `<li><span>${escapeHtml(item.name)} × ${item.quantity}</span><span>${escapeHtml(item.amountText)}</span></li>`).join('');
  const error = view.error ? `<p class="error" role="alert" id="payment-error">${escapeHtml(view.error)}</p>` : '';
  return layout(
    `Pay ${view.amountText}`,
    `<h1>Pay Clearhouse Marketplace</h1><p class="merchant">Secure checkout</p>
<p class="amount" id="amount">${escapeHtml(view.amountText)}</p>
${items ? `<ul class="items">${items}</ul>` : ''}
${error}
<form method="post" action="${escapeHtml(view.action)}" autocomplete="off">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required maxlength="23">
<div class="row">
<div><label for="exp_month">Expiry month</label><input id="exp_month" name="exp_month" inputmode="numeric" placeholder="MM" required maxlength="2" value="${escapeHtml(view.values?.expMonth ?? '')}"></div>
<div><label for="exp_year">Expiry year</label><input id="exp_year" name="exp_year" inputmode="numeric" placeholder="YYYY" required maxlength="4" value="${escapeHtml(view.values?.expYear ?? '')}"></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123" required maxlength="4"></div>
</div>
<button type="submit" id="submit">Pay ${escapeHtml(view.amountText)}</button>
</form>`,
  );
}

export function challengePage(action: string, amountText: string): string {
  return layout(
    '3-D Secure authentication',
    `<h1>Authenticate your payment</h1><p class="merchant">Your bank asks you to confirm this payment (3-D Secure test page).</p>
<p class="amount">${escapeHtml(amountText)}</p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="approve" value="1"><button type="submit" id="approve">Complete authentication</button></form>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="approve" value="0"><button type="submit" class="secondary" id="deny">Fail authentication</button></form>`,
  );
}

export type ResultKind = 'succeeded' | 'processing' | 'authorized' | 'expired' | 'canceled' | 'not_found';

const results: Record<ResultKind, { title: string; heading: string; good: boolean }> = {
  succeeded: { title: 'Payment successful', heading: 'Payment successful', good: true },
  authorized: { title: 'Payment authorized', heading: 'Payment authorized', good: true },
  processing: { title: 'Payment processing', heading: 'Your payment is processing', good: true },
  expired: { title: 'Checkout expired', heading: 'This checkout has expired', good: false },
  canceled: { title: 'Payment canceled', heading: 'This payment was canceled', good: false },
  not_found: { title: 'Not found', heading: 'This payment page does not exist', good: false },
};

export function resultPage(kind: ResultKind, amountText: string, detail: string): string {
  const result = results[kind];
  return layout(
    result.title,
    `<h1 class="${result.good ? 'ok' : 'bad'}" id="result" data-result="${kind}">${escapeHtml(result.heading)}</h1>
${amountText ? `<p class="amount">${escapeHtml(amountText)}</p>` : ''}<p>${escapeHtml(detail)}</p>`,
  );
}
