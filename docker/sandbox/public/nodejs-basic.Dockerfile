# sandbox-nodejs:20-basic from the public Node image, for machines that can pull it. The in-sandbox
# executor is Python, so python3-minimal goes in next to node. Context: docker/sandbox.
FROM node:20-bookworm-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3-minimal \
 && rm -rf /var/lib/apt/lists/* \
 && userdel -r node
COPY sandbox-user.sh /tmp/sandbox-user.sh
RUN sh /tmp/sandbox-user.sh && rm /tmp/sandbox-user.sh
ENV LANG=C.UTF-8 HOME=/workspace
LABEL sandbox.template="nodejs-basic"
COPY executor/executor.py executor/context.js /opt/sandbox/
RUN python3 /opt/sandbox/executor.py --runtimes > /opt/sandbox/runtimes.json
WORKDIR /workspace
USER 1000:1000
CMD ["python3", "/opt/sandbox/executor.py"]
