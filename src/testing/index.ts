export {
  type PostgresServer,
  PostgresServerError,
  type StartPostgresOptions,
  startPostgres,
} from './postgres-server.js'
