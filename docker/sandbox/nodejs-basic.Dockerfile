FROM sandbox-base:bookworm
LABEL sandbox.template="nodejs-basic"
COPY build/node /usr/local/bin/node
COPY executor/executor.py /opt/sandbox/executor.py
CMD ["python3", "/opt/sandbox/executor.py"]
