// Database names and URLs. POSTGRES_URL names a server (no database); each subgraph's database
// is `${prefix}_${subgraph}` on it (databaseName in ../config), so dev (`clearhouse_*`) and
// tests (`clearhouse_test_*`) share one server without ever sharing a database.

/** PostgreSQL truncates identifiers beyond 63 bytes; a truncated name would alias another. */
const IDENTIFIER_BYTES_MAX = 63;
const SAFE_NAME = /^[a-z_][a-z0-9_]*$/;

export function assertSafeDatabaseName(name: string): void {
  if (!SAFE_NAME.test(name) || Buffer.byteLength(name) > IDENTIFIER_BYTES_MAX) {
    throw new Error(
      `invalid database name ${JSON.stringify(name)}: lower-case letters, digits and '_' only, ` +
        `at most ${IDENTIFIER_BYTES_MAX} bytes`,
    );
  }
}

/**
 * The server URL with its path replaced by the database; credentials and query kept. (The
 * subgraph form `databaseUrl(server, prefix, subgraph)` lives in ../config.)
 */
export function databaseUrlOnServer(postgresServerUrl: string, databaseName: string): string {
  assertSafeDatabaseName(databaseName);
  const url = new URL(postgresServerUrl);
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new Error(`not a PostgreSQL URL: ${url.protocol}//${url.host}`);
  }
  url.pathname = `/${databaseName}`;
  return url.toString();
}

/** The maintenance database every server has; used to create and drop the others. */
export function maintenanceUrl(postgresServerUrl: string): string {
  return databaseUrlOnServer(postgresServerUrl, 'postgres');
}

/** Names are validated by assertSafeDatabaseName; quoting is belt and braces. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
