#!/bin/sh
# Makes the broker's password file and one random password per user of the ACL (./acl):
#   passwd              hashed (mosquitto_passwd), for Mosquitto's password_file
#   mqtt-passwords.env  PVC_MQTT_PASSWORD_<USER>=..., for the services: Docker Compose reads it as .env
#                       (append it to ../../.env), Kubernetes as a Secret (--from-env-file)
#
#   deploy/mosquitto/make-passwords.sh [PASSWD_FILE] [ENV_FILE]
#
# Needs mosquitto_passwd (Debian/Ubuntu: apt-get install mosquitto). Without it, run this script in the
# broker's image:  docker run --rm -v "$PWD/deploy/mosquitto:/mosquitto/config" eclipse-mosquitto:2 \
#                    sh /mosquitto/config/make-passwords.sh
# Running it again makes new passwords for everybody (restart the broker and every service then).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
passwd=${1:-$here/passwd}
envfile=${2:-$here/mqtt-passwords.env}
users="meter wallbox car relay controller forecast tariff api homeassistant nodered"

umask 077
: >"$passwd"
: >"$envfile"
for user in $users; do
    password=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | cut -c1-24)
    mosquitto_passwd -b "$passwd" "$user" "$password"
    echo "PVC_MQTT_PASSWORD_$(echo "$user" | tr '[:lower:]' '[:upper:]')=$password" >>"$envfile"
done
echo "wrote $passwd and $envfile (users: $users)"
echo "Docker Compose: the broker runs as uid 1883, so: sudo chown 1883 $passwd"
