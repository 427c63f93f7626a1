#!/usr/bin/env bash
# The official postgres image's entrypoint contract, as far as the chart uses it
# (charts/shortlink/templates/postgresql.yaml); written here, not copied. What differs
# from the official image is listed in image/postgres/README.md.
#
# `docker-entrypoint.sh postgres [ARGS]` (or only ARGS starting with '-'): $PGDATA made
# and set to 0700 on every start; when it is empty, initdb with POSTGRES_USER (default
# postgres) and POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust) and
# POSTGRES_INITDB_ARGS; host connections from anywhere with POSTGRES_HOST_AUTH_METHOD
# (default scram-sha-256); then, on a server that listens on its Unix socket only:
# POSTGRES_DB created (default: the user's name), each /docker-entrypoint-initdb.d/ file
# in name order (*.sh run if executable, else sourced; *.sql and *.sql.gz through psql).
# Then, and on every later start: exec the command.
set -Eeuo pipefail

if [[ ${1:-} == -* ]]; then
    set -- postgres "$@"
fi

fail() {
    echo "docker-entrypoint.sh: $*" >&2
    exit 1
}

run_initdb_file() {
    local file=$1
    case $file in
        *.sh)
            if [[ -x $file ]]; then
                echo "running $file"; "$file"
            else
                echo "sourcing $file"; # shellcheck disable=SC1090
                . "$file"
            fi ;;
        *.sql) echo "running $file"; psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -f "$file" ;;
        *.sql.gz) echo "running $file"; gzip -dc "$file" | psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" ;;
        *) echo "ignoring $file" ;;
    esac
}

initialize() {
    export POSTGRES_USER=${POSTGRES_USER:-postgres}
    export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
    local auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [[ -z ${POSTGRES_PASSWORD:-} && $auth != trust ]]; then
        fail "the database is uninitialized and POSTGRES_PASSWORD is not set" \
            "(set it, or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without one)"
    fi
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words, as upstream
    if [[ -n ${POSTGRES_PASSWORD:-} ]]; then
        initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
            ${POSTGRES_INITDB_ARGS:-}
    else
        initdb --username="$POSTGRES_USER" ${POSTGRES_INITDB_ARGS:-}
    fi
    printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

    export PGUSER=$POSTGRES_USER PGPASSWORD=${POSTGRES_PASSWORD:-}
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
    if [[ $POSTGRES_DB != postgres ]]; then
        psql -v ON_ERROR_STOP=1 --dbname postgres --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
    fi
    local file
    for file in /docker-entrypoint-initdb.d/*; do
        if [[ -e $file ]]; then run_initdb_file "$file"; fi
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGUSER PGPASSWORD
    echo "PostgreSQL initialized in $PGDATA"
}

if [[ $1 == postgres ]]; then
    [[ $(id -u) != 0 ]] || fail "run as the postgres user (uid 999), not as root"
    # On every start, as upstream: a volume's fsGroup pass (each time a pod mounts it)
    # leaves the directory group-writable, which PostgreSQL refuses to start on.
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA" || :
    if [[ ! -s $PGDATA/PG_VERSION ]]; then
        initialize
    fi
fi
exec "$@"
