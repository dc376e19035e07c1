#!/bin/sh
# Runs inside the debootstrapped root filesystem (chroot) before it is imported as an image.
# It turns a bare Debian into something that behaves like a freshly installed VM:
# systemd as PID 1, sshd with per-container host keys, a sudo-capable 'deploy' user,
# and the build host's extra CA certificates so HTTPS works behind an intercepting proxy.
set -eu

update-ca-certificates >/dev/null

# Users of real VMs log in as an unprivileged account and use sudo; so do the lab and the tests.
if ! id deploy >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash deploy
fi
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy

# Host keys baked into an image would be shared by every container; make them at first boot.
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/systemd/system/ssh.service.d
cat > /etc/systemd/system/ssh.service.d/host-keys.conf <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
systemctl enable ssh >/dev/null 2>&1

# Units that only make sense on real hardware keep a container from reaching 'running'.
systemctl mask getty@tty1.service console-getty.service systemd-remount-fs.service \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount >/dev/null 2>&1

# A fresh machine-id per container, as on a freshly installed VM.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log
