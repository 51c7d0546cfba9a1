/**
 * Queue names from the RabbitMQ management HTTP API (rabbitmq_management plugin), filtered by
 * prefix. AMQP itself cannot enumerate queues; callers fall back to known names when the API
 * is not enabled (this rejects then).
 */
export async function listQueueNames(options: { managementUrl: string; prefix: string; vhost?: string; timeoutMs?: number }): Promise<string[]> {
  const url = new URL(options.managementUrl);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username || 'guest')}:${decodeURIComponent(url.password || 'guest')}`).toString('base64')}`;
  url.username = '';
  url.password = '';
  url.pathname = `/api/queues/${encodeURIComponent(options.vhost ?? '/')}`;
  url.search = 'columns=name&disable_stats=true';
  const response = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
  if (!response.ok) throw new Error(`management API answered ${response.status} for ${url.pathname}`);
  const queues = (await response.json()) as { name: string }[];
  return queues.map((q) => q.name).filter((name) => name.startsWith(`${options.prefix}.`)).sort();
}
