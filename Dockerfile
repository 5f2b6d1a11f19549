# The vaultsync operator image: `vaultsync run` as a non-root user on a read-only root filesystem.
#
# Two stages: the first builds wheels of vaultsync and every dependency (any build tool stays
# there), the second installs only those wheels into a virtualenv on the same base. Build from the
# repository root with BuildKit (scripts/image does all of this, including a base built from
# Debian's packages when Docker Hub cannot be reached):
#   DOCKER_BUILDKIT=1 docker build -t vaultsync:dev .
#
# Base image pinned by tag. For a release build, pin the digest too (resolve it with
# `docker buildx imagetools inspect python:3.11-slim-bookworm`) and pass it:
#   --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest>
# Any Python 3.11 base with the venv module works (scripts/image-base builds one with debootstrap).
#
# pip settings and a CA bundle for a private index or a TLS-inspecting proxy can be passed as
# build secrets (never stored in a layer): --secret id=pip.conf,src=... --secret id=ca-bundle,src=...
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/build
WORKDIR /src
# Dependencies first, from pyproject.toml alone: this layer is reused until the dependencies change.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/pip.conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip.conf; fi; \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi; \
    /opt/build/bin/pip install "setuptools>=69" wheel \
    && /opt/build/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
       > /tmp/requirements.txt \
    && /opt/build/bin/pip wheel --wheel-dir /wheels -r /tmp/requirements.txt
COPY README.md ./
COPY operator ./operator
RUN /opt/build/bin/pip wheel --no-index --no-deps --no-build-isolation --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=65532
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/vaultsync/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp \
    TMPDIR=/tmp
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    python3 -m venv /opt/vaultsync \
    && /opt/vaultsync/bin/pip install --no-index --no-cache-dir --disable-pip-version-check \
       --find-links=/wheels vaultsync \
    && /opt/vaultsync/bin/pip uninstall --yes --disable-pip-version-check pip \
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
