# expect: rejected: libpq.so.5
# Broken on purpose: the runtime stage lacks libpq5, which psycopg2's compiled extension
# (_psycopg.cpython-311-x86_64-linux-gnu.so) needs; it builds, and importing psycopg2 fails.
# Otherwise the same as multi-stage.Dockerfile.
FROM python:3.12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels -r /tmp/requirements.txt

FROM python:3.12-slim
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \
    pip install --no-cache-dir --no-index --find-links=/wheels -r /tmp/requirements.txt
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY . .
USER 10001:10001
EXPOSE 8000
CMD ["python", "app.py"]
