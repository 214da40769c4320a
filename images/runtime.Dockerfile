# The agent runtime image: `airlock-runtime serve`, as the orchestrator Deployment runs it.
#
#   images/build-runtime.sh [TAG]      # wheels on the host, then an offline build (see docs/runtime.md)
#
# The build context holds wheels/ (the airlock wheel and the runtime's dependencies) and
# nothing else; the build needs no network. BASE is any Debian-like image with python3 and
# venv: the pinned upstream image by default, or a local base made with images/build-base.sh.
ARG BASE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${BASE} AS build
COPY wheels /wheels
RUN python3 -m venv /opt/airlock \
 && /opt/airlock/bin/pip install --no-cache-dir --no-index --find-links /wheels --no-deps /wheels/airlock-*.whl \
 && /opt/airlock/bin/pip install --no-cache-dir --no-index --find-links /wheels -r /wheels/runtime-requirements.txt \
 && /opt/airlock/bin/pip uninstall --yes pip

FROM ${BASE}
COPY --from=build /opt/airlock /opt/airlock
# A fixed non-root UID (runtime/contract.py RUNTIME_UID): the pod sets runAsNonRoot and a
# read-only root filesystem; state and /tmp are volumes.
RUN echo "airlock:x:10001:10001:airlock runtime:/nonexistent:/usr/sbin/nologin" >> /etc/passwd \
 && echo "airlock:x:10001:" >> /etc/group
USER 10001:10001
ENV PATH=/opt/airlock/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["airlock-runtime"]
CMD ["serve"]
