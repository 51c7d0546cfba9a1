// A person's test: Debian's Chromium, headless, opens a checkout URL, types the 4242 card and
// submits. Skipped (with a message) only when /usr/bin/chromium is not installed.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { startTestSimulator, type TestSimulator } from '../testkit/testkit.js';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.warn(`browser test skipped: ${chromiumPath} does not exist (apt-get install chromium)`);
const describeWithBrowser = hasChromium ? describe : describe.skip;

describeWithBrowser('hosted payment page in a real browser', () => {
  let sim: TestSimulator;
  let browser: Browser;
  let shop: Server;
  let shopUrl = '';

  beforeAll(async () => {
    sim = await startTestSimulator();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    shop = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<h1 id="thanks">Thank you for your order</h1>'));
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => shop.close(() => resolve()));
    await sim.stop();
  });

  async function checkoutUrl(successUrl?: string): Promise<{ url: string; paymentIntentId: string }> {
    const session = await sim.stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price_data: { currency: 'usd', unit_amount: 4999, product_data: { name: 'Handmade chair' } }, quantity: 1 }],
      ...(successUrl ? { success_url: successUrl } : {}),
    });
    return { url: session.url ?? '', paymentIntentId: session.payment_intent as string };
  }

  it('types the 4242 card, submits and sees the success page', async () => {
    const { url, paymentIntentId } = await checkoutUrl();
    const page = await browser.newPage();
    await page.goto(url);
    expect(await page.textContent('#amount')).toContain('49.99 USD');
    await page.getByLabel('Card number').fill('4242 4242 4242 4242');
    await page.getByLabel('Expiry month').fill('12');
    await page.getByLabel('Expiry year').fill(String(new Date().getUTCFullYear() + 3));
    await page.getByLabel('CVC').fill('123');
    await page.click('#submit');
    await page.waitForSelector('#result[data-result="succeeded"]');
    expect(await page.textContent('h1')).toContain('Payment successful');
    expect((await sim.stripe.paymentIntents.retrieve(paymentIntentId)).status).toBe('succeeded');
    await page.close();
  }, 30_000);

  it('a declined card shows the message, a retry succeeds and lands on success_url', async () => {
    const { url } = await checkoutUrl(`${shopUrl}/thanks`);
    const page = await browser.newPage();
    await page.goto(url);
    const fill = async (card: string) => {
      await page.getByLabel('Card number').fill(card);
      await page.getByLabel('Expiry month').fill('12');
      await page.getByLabel('Expiry year').fill(String(new Date().getUTCFullYear() + 3));
      await page.getByLabel('CVC').fill('123');
      await page.click('#submit');
    };
    await fill('4000 0000 0000 0002');
    await page.waitForSelector('#payment-error');
    expect(await page.textContent('#payment-error')).toContain('declined');
    await fill('4242 4242 4242 4242');
    await page.waitForSelector('#thanks');
    expect(page.url()).toBe(`${shopUrl}/thanks`);
    await page.close();
  }, 30_000);
});
