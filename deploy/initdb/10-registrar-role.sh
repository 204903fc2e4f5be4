#!/bin/sh
# Run once by the postgres image when it initialises an empty data volume
# (mounted at /docker-entrypoint-initdb.d): the servers connect as
# `registrar`, owner of the database `registrar`, not as the superuser.
# The migrations need no more than that (their extensions are trusted ones).
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set=registrar_password="$REGISTRAR_DB_PASSWORD" <<'SQL'
create role registrar login password :'registrar_password';
create database registrar owner registrar;
revoke all on database registrar from public;
SQL
