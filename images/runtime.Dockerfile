# The agent runtime image (airlock-runtime), built from this repository.
#   docker build -f images/runtime.Dockerfile -t $REGISTRY/runtime:0.1.0 .
# Base images are pinned by digest so a rebuild never silently changes them.
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7 AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY components components
COPY airlock airlock
COPY runtime runtime
RUN python -m venv /opt/airlock && /opt/airlock/bin/pip install --no-cache-dir .

FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
COPY --from=build /opt/airlock /opt/airlock
# A fixed non-root UID: the Deployment sets runAsNonRoot and a read-only root filesystem.
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin airlock
USER 10001:10001
ENV PATH=/opt/airlock/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["airlock-runtime"]
