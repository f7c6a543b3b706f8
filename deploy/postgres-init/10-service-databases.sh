#!/bin/bash
# Creates one role and one database per service (auth, chat) on the first start of
# the PostgreSQL container (the official image runs /docker-entrypoint-initdb.d/*
# only while the data volume is empty). Passwords come from the environment
# (AUTH_DB_PASSWORD, CHAT_DB_PASSWORD, set from .env) and are passed to psql as
# variables, so they are quoted by psql and never spliced into SQL by the shell.
#
# Each service owns its database (and, PostgreSQL 15+, its public schema through
# pg_database_owner); no role can connect to the other service's database.
set -euo pipefail

: "${AUTH_DB_PASSWORD:?AUTH_DB_PASSWORD must be set}"
: "${CHAT_DB_PASSWORD:?CHAT_DB_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 \
     --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
     -v auth_password="$AUTH_DB_PASSWORD" \
     -v chat_password="$CHAT_DB_PASSWORD" <<'SQL'
CREATE ROLE auth LOGIN PASSWORD :'auth_password';
CREATE ROLE chat LOGIN PASSWORD :'chat_password';

CREATE DATABASE auth OWNER auth;
CREATE DATABASE chat OWNER chat;

REVOKE ALL ON DATABASE auth FROM PUBLIC;
REVOKE ALL ON DATABASE chat FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE auth TO auth;
GRANT CONNECT, TEMPORARY ON DATABASE chat TO chat;
SQL

echo "postgres-init: created roles and databases auth, chat"
