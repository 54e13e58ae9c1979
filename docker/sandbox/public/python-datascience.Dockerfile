# sandbox-python:3.11-datascience from the public Python image, for machines that can pull it and
# reach PyPI (the registry-free build uses Debian's python3-numpy/pandas/matplotlib). Context: docker/sandbox.
FROM python:3.11-slim-bookworm
RUN pip install --no-cache-dir numpy==1.26.4 pandas==2.2.3 matplotlib==3.9.4
COPY sandbox-user.sh /tmp/sandbox-user.sh
RUN sh /tmp/sandbox-user.sh && rm /tmp/sandbox-user.sh
ENV LANG=C.UTF-8 HOME=/workspace PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPLCONFIGDIR=/tmp/.matplotlib SANDBOX_PRELOAD=numpy,pandas
LABEL sandbox.template="python-datascience"
COPY executor/executor.py /opt/sandbox/executor.py
RUN python3 /opt/sandbox/executor.py --runtimes > /opt/sandbox/runtimes.json
WORKDIR /workspace
USER 1000:1000
CMD ["python3", "/opt/sandbox/executor.py"]
