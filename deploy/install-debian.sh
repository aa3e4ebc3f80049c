#!/bin/sh
# Install Sandan as a systemd service on Debian 12 or newer, from the clone this script is in.
# Run as root: sh deploy/install-debian.sh   (again after `git pull` to upgrade; it is idempotent)
# It installs uv, makes the `sandan` user, copies the code to /opt/sandan, installs the locked
# dependencies, makes /opt/sandan/var and /etc/sandan, and installs (not starts) the unit.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo sh deploy/install-debian.sh)" >&2; exit 1; }

apt-get install -y --no-install-recommends python3 python3-venv pipx ca-certificates >/dev/null
# uv for every user (root's own uv, if any, may live where the sandan user cannot reach it).
if [ ! -x /usr/local/bin/uv ]; then
    PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install uv >/dev/null
fi
id sandan >/dev/null 2>&1 ||
    useradd --system --home-dir /opt/sandan --no-create-home --shell /usr/sbin/nologin sandan

install -d -o sandan -g sandan -m 755 /opt/sandan
if [ "$here" != /opt/sandan ]; then
    # The code, without the clone's own virtual environment, database or caches.
    tar -C "$here" --exclude=./.venv --exclude=./var --exclude=./.git --exclude='./.*cache' \
        --exclude=./.hypothesis -cf - . |
        tar -C /opt/sandan --no-same-owner -xf -
fi
install -d -o sandan -g sandan -m 750 /opt/sandan/var /opt/sandan/.cache
chown -R sandan:sandan /opt/sandan
cd /opt/sandan
runuser -u sandan -- env HOME=/opt/sandan UV_CACHE_DIR=/opt/sandan/.cache/uv \
    /usr/local/bin/uv sync --frozen --no-dev

install -d -o root -g sandan -m 750 /etc/sandan
if [ ! -f /etc/sandan/sandan.env ]; then
    install -o root -g sandan -m 640 deploy/sandan.env.example /etc/sandan/sandan.env
    echo "now edit /etc/sandan/sandan.env (the token at least)"
fi
if [ ! -f /etc/sandan/org.yaml ]; then
    install -o root -g sandan -m 640 examples/org.yaml /etc/sandan/org.yaml
    echo "now edit /etc/sandan/org.yaml (your organisation), then import it (deploy/README.md)"
fi
install -m 644 deploy/sandan.service /etc/systemd/system/sandan.service
install -m 644 'deploy/sandan-webhook@.service' '/etc/systemd/system/sandan-webhook@.service'
systemctl daemon-reload 2>/dev/null || true
echo "installed; start with: systemctl enable --now sandan"
