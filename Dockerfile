# syntax=docker/dockerfile:1.7
# The vaultsync operator image: `vaultsync run` as a non-root user on a read-only root filesystem.
#
# Two stages: the first builds wheels of vaultsync and every dependency (compilers stay there), the
# second installs only those wheels into a slim Python. Build from the repository root:
#   docker build -t vaultsync:dev .
#
# Base image pinned by tag. For a release build, pin the digest too (resolve it with
# `docker buildx imagetools inspect python:3.11-slim-bookworm`) and pass it:
#   --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=65532
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels vaultsync \
    && groupadd --system --gid ${UID} vaultsync \
    && useradd --system --uid ${UID} --gid ${UID} --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin vaultsync
LABEL org.opencontainers.image.title="vaultsync" \
      org.opencontainers.image.description="Kubernetes operator that keeps one logical secret consistent across vaults" \
      org.opencontainers.image.licenses="Apache-2.0"
# Ports: 9443 admission webhook (HTTPS), 9090 metrics, 8080 kopf liveness (/healthz).
EXPOSE 9443 9090 8080
USER 65532:65532
ENTRYPOINT ["vaultsync"]
CMD ["run"]
