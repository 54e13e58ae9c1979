FROM sandbox-base:bookworm
LABEL sandbox.template="python-basic"
COPY executor/executor.py /opt/sandbox/executor.py
# the versions GET /v1/runtimes shows: what the image's own commands say, at build time
USER 0:0
RUN python3 /opt/sandbox/executor.py --runtimes > /opt/sandbox/runtimes.json
USER 1000:1000
CMD ["python3", "/opt/sandbox/executor.py"]
