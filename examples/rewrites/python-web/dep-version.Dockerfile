# expect: rejected: psycopg2
# Broken on purpose: the wheel is built for a psycopg2 version written into the Dockerfile
# (2.9.9) instead of the one requirements.txt pins (2.9.10); the smoke check, which prints the
# version, fails too.
# Otherwise the same as multi-stage.Dockerfile.
FROM python:3.12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels psycopg2==2.9.9

FROM python:3.12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels psycopg2
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY . .
USER 10001:10001
EXPOSE 8000
CMD ["python", "app.py"]
