# The users API image. Base given as a build argument, so it also builds from a local base image
# where no registry is reachable: --build-arg PYTHON_IMAGE=localhost/python:3.11-bookworm
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# Builder: a virtualenv in /opt/venv with the app and its dependencies (wheels only need no compiler).
FROM ${PYTHON_IMAGE} AS builder
# CA bundle for pip when PyPI is reached through a TLS-intercepting proxy; unset means pip's default.
ARG PIP_CERT
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml ./
COPY app ./app
RUN if [ -z "${PIP_CERT:-}" ]; then unset PIP_CERT; fi \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir . \
    && /opt/venv/bin/python -c "from app.migrations import expected_version; assert expected_version() > 0"

# Runtime: the virtualenv only, run by an unprivileged user with a fixed UID/GID.
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
WORKDIR /opt/venv
USER 10001:10001
EXPOSE 8080
# The same image runs the schema migrations: python -m app.migrate
CMD ["gunicorn", "-c", "python:app.gunicorn_conf", "app:create_app()"]
