# sandbox-gcc:12 from the public gcc image, for machines that can pull it. Context: docker/sandbox.
FROM gcc:12-bookworm
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*
COPY sandbox-user.sh /tmp/sandbox-user.sh
RUN sh /tmp/sandbox-user.sh && rm /tmp/sandbox-user.sh
ENV LANG=C.UTF-8 HOME=/workspace PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
LABEL sandbox.template="gcc"
COPY executor/executor.py /opt/sandbox/executor.py
RUN python3 /opt/sandbox/executor.py --runtimes > /opt/sandbox/runtimes.json
WORKDIR /workspace
USER 1000:1000
CMD ["python3", "/opt/sandbox/executor.py"]
