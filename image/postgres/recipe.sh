#!/bin/sh
# The in-chart PostgreSQL's image (scripts/build-postgres-image), run as root INSIDE a
# copy of the project image's Debian base: Debian's PostgreSQL server with the official
# postgres image's user (uid/gid 999), directories and entrypoint (what differs:
# image/postgres/README.md).
set -eu
MAJOR=15  # bookworm's PostgreSQL

export DEBIAN_FRONTEND=noninteractive
# The user first, so the packages' maintainer scripts find it and keep its ids.
groupadd --system --gid 999 postgres
useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres
install -d -o postgres -g postgres /var/lib/postgresql
# No cluster at install time: the entrypoint initializes $PGDATA on first start.
install -d /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main.conf
apt-get update -qq
apt-get install -y -qq --no-install-recommends "postgresql-$MAJOR"
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*
install -d -o postgres -g postgres -m 3777 /run/postgresql
install -d -o postgres -g postgres -m 1777 /var/lib/postgresql/data
install -d /docker-entrypoint-initdb.d
install -m 0755 /tmp/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# What the image's configuration says (scripts/build-postgres-image reads it).
dpkg-query -W -f '${Version}' "postgresql-$MAJOR" > /tmp/out/version
