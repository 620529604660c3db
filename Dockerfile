# GenHub's image, in two flavours built from one file:
#
#   docker build --target cpu  -t genhub:cpu  .   # torch's CPU wheel (~1 GB smaller)
#   docker build --target cuda -t genhub:cuda .   # torch's CUDA wheel and its NVIDIA libraries
#
# One image runs every role; the command picks it (docker-compose.yml, deploy/k8s/):
#   web      uvicorn genhub.asgi:application --host 0.0.0.0 --port 8000 (the default)
#   worker   celery -A genhub worker -Q image ...
#   migrate  python manage.py migrate --noinput (a one-shot service / an init container)
# Settings come from the environment only (.env.example lists them). Model weights
# live in the /models volume and generated files in /data/media, never in the image.
# The CUDA flavour needs no CUDA base image: torch's wheel brings the CUDA runtime,
# and the NVIDIA container toolkit mounts the driver.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- what every stage shares ---------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# --- dependencies, built apart so the runtime image carries no compiler or pip cache ---
FROM python AS deps
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt

FROM deps AS deps-cpu
# torch from PyTorch's CPU index first; the rest then finds it already installed.
RUN torch_pin="$(grep -E '^torch==' /tmp/requirements.txt)" \
    && pip install --index-url https://download.pytorch.org/whl/cpu "$torch_pin" \
    && pip install -r /tmp/requirements.txt

FROM deps AS deps-cuda
# PyPI's Linux torch wheel is the CUDA build; it pulls the nvidia-* runtime wheels.
RUN pip install -r /tmp/requirements.txt

# --- the runtime: no root, code read-only, state in volumes -------------------------------
FROM python AS runtime
# tini reaps zombies and passes SIGTERM on, so Celery shuts down warm on `docker stop`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 genhub \
    && useradd --system --uid 10001 --gid genhub --home-dir /home/genhub --create-home genhub \
    && mkdir -p /models /data/media /app/var \
    && chown genhub:genhub /models /data/media /app/var
ENV GENHUB_MODEL_DIR=/models \
    HF_HOME=/models/.cache/huggingface \
    MEDIA_ROOT=/data/media \
    GENHUB_LOG_FORMAT=json
WORKDIR /app
EXPOSE 8000
VOLUME ["/models", "/data/media"]
ENTRYPOINT ["tini", "--"]
# uvicorn trusts X-Forwarded-For only from FORWARDED_ALLOW_IPS (default 127.0.0.1):
# set it to the ingress's or proxy's addresses.
# GENHUB_DB_POOL: the web process keeps a pool of PostgreSQL connections (never a
# worker: a forked pool child would share its parent's sockets; genhub/settings.py).
CMD ["env", "GENHUB_DB_POOL=1", "uvicorn", "genhub.asgi:application", "--host", "0.0.0.0", \
     "--port", "8000", "--ws-per-message-deflate", "false"]

FROM runtime AS cpu
COPY --from=deps-cpu /opt/venv /opt/venv
COPY . /app
# Static files compressed once at build time (whitenoise serves them); the throwaway
# key only lets settings load: the real SECRET_KEY comes from the environment.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0 \
    && rm -f /app/var/secret_key /app/var/genhub.sqlite3 && chown -R genhub:genhub /app/var
ENV GENHUB_DEVICE=cpu
USER genhub

FROM runtime AS cuda
COPY --from=deps-cuda /opt/venv /opt/venv
COPY . /app
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0 \
    && rm -f /app/var/secret_key /app/var/genhub.sqlite3 && chown -R genhub:genhub /app/var
ENV GENHUB_DEVICE=cuda \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER genhub
