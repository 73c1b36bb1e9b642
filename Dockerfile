# Complaint desk — a small image for `complaint-bot run`.
#
#   docker build -t complaint-desk .
#   docker run -d --name complaint-desk --env-file .env \
#     -v complaints-data:/data -p 3000:3000 complaint-desk
#
# SQLite lives on the /data volume by default; pass DATABASE_URL for PostgreSQL.

# --- build stage: install the bot and its dependencies into a virtualenv ---------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
WORKDIR /src
# only what `pip install .` needs (pyproject names README.md as the readme)
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY blocks ./blocks
RUN /opt/venv/bin/pip install --no-cache-dir .

# --- runtime stage ------------------------------------------------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/complaints.sqlite3 \
    PORT=3000

# a CJK font for the PDF reports (embedded as a subset in each PDF; bot/records/fonts.py)
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home complaints \
 && mkdir -p /app /data \
 && chown complaints:complaints /app /data

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER complaints
VOLUME ["/data"]

# GET /healthz in both modes, POST /slack/events in HTTP mode. Socket Mode needs
# no port published: the bot connects out to Slack, and /healthz is for the
# health check below.
EXPOSE 3000

# GET /healthz answers 200 when the database is reachable and the worker keeps up
# (no acknowledged request waiting over 5 minutes) and, in Socket Mode
# (SLACK_APP_TOKEN set), while the WebSocket to Slack is connected.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('PORT') or '3000') + '/healthz', timeout=4)"]

CMD ["complaint-bot", "run"]
