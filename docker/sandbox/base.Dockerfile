# Base of every sandbox image, on the registry-free root filesystem made by tools/images-build.sh.
FROM sandbox-rootfs:bookworm
COPY sandbox-user.sh /tmp/sandbox-user.sh
RUN sh /tmp/sandbox-user.sh && rm /tmp/sandbox-user.sh
ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin HOME=/workspace PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPLCONFIGDIR=/tmp/.matplotlib
WORKDIR /workspace
USER 1000:1000
