FROM sandbox-base:bookworm
LABEL sandbox.template="gcc"
USER 0:0
# Debian's gcc and g++ (12): C and C++ programs are compiled once per execution, then run (as often
# as it has test cases) from a sealed in-memory copy of the binary.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends gcc g++ libc6-dev \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/*
COPY executor/executor.py /opt/sandbox/executor.py
# the versions GET /v1/runtimes shows: what the image's own commands say, at build time
RUN python3 /opt/sandbox/executor.py --runtimes > /opt/sandbox/runtimes.json
USER 1000:1000
CMD ["python3", "/opt/sandbox/executor.py"]
