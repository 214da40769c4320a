# The sandbox executor image (airlock-sandbox serve, port 8080), built without any network:
# every Python package comes from wheels/ in the build context, built on the host with
# `pip wheel` (tests/sandbox/test_sandbox_image.py shows the exact commands; airgapped
# customers use the same recipe against their mirror).
#
#   podman build --network=none -f images/sandbox-executor.Dockerfile \
#     --build-arg BASE=localhost/airlock-base:bookworm -t airlock/sandbox-executor:0.1.0 CONTEXT
#
# Run it the way the Sandbox component does: non-root 10001, read-only root filesystem, all
# capabilities dropped, no privilege escalation, a writable volume at /work (and /tmp).
# The base is pinned by digest so a rebuild never silently changes it.
ARG BASE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
FROM ${BASE}
COPY wheels /tmp/wheels
# Two environments: the executor (its own code and web server), and the interpreter
# sandboxed code runs with (a few common libraries). Code never imports the executor.
# Then no package manager at run time: pip, ensurepip and the bundled wheels go, and so do
# apt and dpkg (the root filesystem is read-only anyway; this removes the tools too).
RUN python3 -m venv /opt/airlock \
 && /opt/airlock/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels --no-deps airlock \
 && /opt/airlock/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels starlette uvicorn pydantic \
 && python3 -m venv /opt/sandbox-python \
 && /opt/sandbox-python/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels numpy PyYAML python-dateutil \
 && /opt/airlock/bin/python -m pip uninstall -y -q pip \
 && /opt/sandbox-python/bin/python -m pip uninstall -y -q pip \
 && python3 -c "import ensurepip, os, shutil; shutil.rmtree(os.path.dirname(ensurepip.__file__))" \
 && rm -rf /tmp/wheels /usr/share/python-wheels /usr/local/bin/pip* /usr/bin/pip* \
      /usr/bin/apt* /usr/bin/dpkg* /usr/lib/apt /var/lib/apt /var/cache/apt \
 && mkdir -p /work && chown 10001:10001 /work
USER 10001:10001
WORKDIR /work
ENV PATH=/opt/airlock/bin:/usr/local/bin:/usr/bin:/bin \
    AIRLOCK_SANDBOX_PYTHON=/opt/sandbox-python/bin/python3 \
    AIRLOCK_WORK_DIR=/work \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["airlock-sandbox", "serve"]
