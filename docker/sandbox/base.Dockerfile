# Base of every sandbox image, on the registry-free root filesystem made by tools/images-build.sh.
FROM sandbox-rootfs:bookworm
RUN groupadd -g 1000 sandbox \
 && useradd -u 1000 -g 1000 -M -d /workspace -s /bin/sh sandbox \
 && mkdir -p /workspace /opt/sandbox \
 && chown 1000:1000 /workspace \
 && rm -f /etc/update-motd.d/* \
 && find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin HOME=/workspace PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPLCONFIGDIR=/tmp/.matplotlib
WORKDIR /workspace
USER 1000:1000
