FROM sandbox-base:bookworm
LABEL sandbox.template="nodejs-basic"
COPY build/node /usr/local/bin/node
COPY executor/executor.py executor/context.js /opt/sandbox/
CMD ["python3", "/opt/sandbox/executor.py"]
