export {
  type PostgresServer,
  PostgresServerError,
  type StartPostgresOptions,
  startPostgres,
} from './postgres-server.js'
export {
  findPgBouncer,
  type PgBouncer,
  type PgBouncerBinary,
  PgBouncerError,
  PgBouncerNotInstalledError,
  type PgBouncerPoolMode,
  type PgBouncerTarget,
  type StartPgBouncerOptions,
  startPgBouncer,
} from './pgbouncer.js'
