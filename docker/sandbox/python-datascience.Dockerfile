FROM sandbox-base:bookworm
LABEL sandbox.template="python-datascience"
USER 0:0
# python3-munkres first: it satisfies fonttools' "scipy | munkres" and keeps scipy and gcc out (611 MB vs 1.25 GB).
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3-munkres \
 && apt-get install -y -qq --no-install-recommends python3-numpy python3-pandas python3-matplotlib \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/*
# imported once by the executor, before any program forks from it (a warm `import pandas` is free)
ENV SANDBOX_PRELOAD=numpy,pandas
COPY executor/executor.py /opt/sandbox/executor.py
# the versions GET /v1/runtimes shows: what the image's own commands say, at build time
RUN python3 /opt/sandbox/executor.py --runtimes > /opt/sandbox/runtimes.json
USER 1000:1000
CMD ["python3", "/opt/sandbox/executor.py"]
