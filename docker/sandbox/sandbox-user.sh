#!/bin/sh
# Run as root while building any sandbox image (registry-free or public base): the unprivileged
# sandbox user (uid/gid 1000) that every program runs as, its workspace, and no setuid/setgid binaries
# left for it to abuse.
set -eu
groupadd -g 1000 sandbox
useradd -u 1000 -g 1000 -M -d /workspace -s /bin/sh sandbox
mkdir -p /workspace /opt/sandbox
chown 1000:1000 /workspace
rm -f /etc/update-motd.d/*
find / -xdev -perm /6000 -type f -exec chmod a-s {} +
