# Base of every sandbox image, on the registry-free root filesystem made by tools/images-build.sh.
FROM sandbox-rootfs:bookworm
COPY sandbox-user.sh /tmp/sandbox-user.sh
RUN sh /tmp/sandbox-user.sh && rm /tmp/sandbox-user.sh
ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin HOME=/workspace PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPLCONFIGDIR=/tmp/.matplotlib
WORKDIR /workspace
# Agents start the container as root (init and the executor, with SETUID, SETGID and KILL only), and
# the executor runs every program as this user; started as this user, the executor says it is not
# isolated and agents refuse it.
USER 1000:1000
