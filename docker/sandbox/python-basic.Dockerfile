FROM sandbox-base:bookworm
LABEL sandbox.template="python-basic"
COPY executor/executor.py /opt/sandbox/executor.py
CMD ["python3", "/opt/sandbox/executor.py"]
