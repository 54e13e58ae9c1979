# sandbox-python:3.11-basic from the public Python image, for machines that can pull it
# (the registry-free build is tools/images-build.sh). Context: docker/sandbox.
FROM python:3.11-slim-bookworm
COPY sandbox-user.sh /tmp/sandbox-user.sh
RUN sh /tmp/sandbox-user.sh && rm /tmp/sandbox-user.sh
ENV LANG=C.UTF-8 HOME=/workspace PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPLCONFIGDIR=/tmp/.matplotlib
LABEL sandbox.template="python-basic"
COPY executor/executor.py /opt/sandbox/executor.py
RUN python3 /opt/sandbox/executor.py --runtimes > /opt/sandbox/runtimes.json
WORKDIR /workspace
USER 1000:1000
CMD ["python3", "/opt/sandbox/executor.py"]
