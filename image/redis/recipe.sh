#!/bin/sh
# The test Redis's image (scripts/build-redis-image), run as root INSIDE a copy of the
# project image's Debian base: Debian's redis-server and a configuration for a pod
# (image/redis/redis.conf: every address, no persistence, logs to stdout).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*
install -m 0644 /tmp/redis.conf /etc/redis/redis.conf
# Debian keeps /etc/redis to its redis user (2770); the pod runs as any uid (10001), and
# the configuration holds no secret. Seen: "can't open config file ... Permission denied".
chmod 0755 /etc/redis
# What the image's configuration says (scripts/build-redis-image reads it).
dpkg-query -W -f '${Version}' redis-server > /tmp/out/version
