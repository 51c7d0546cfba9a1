// Small node:http helpers: bounded body reading, form/JSON parsing, writing responses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import qs from 'qs';

const bodyBytesMax = 1024 * 1024;

export class BodyTooLargeError extends Error {}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > bodyBytesMax) throw new BodyTooLargeError('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Stripe's bracketed form encoding: `metadata[order]=1`, `expand[]=x`, `line_items[0][quantity]=2`. */
export function parseForm(text: string): Record<string, unknown> {
  return qs.parse(text, { depth: 5, arrayLimit: 100, parameterLimit: 1000, allowDots: false }) as Record<string, unknown>;
}

export function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  return JSON.parse(text) as unknown;
}

export function send(response: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

export function sendJson(response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(response, status, 'application/json', JSON.stringify(value, null, 2), headers);
}

export function sendHtml(response: ServerResponse, status: number, html: string): void {
  send(response, status, 'text/html; charset=utf-8', html, { 'cache-control': 'no-store', 'x-frame-options': 'DENY' });
}

export function redirect(response: ServerResponse, location: string): void {
  if (response.headersSent) return;
  response.writeHead(303, { location, 'content-length': 0 });
  response.end();
}
