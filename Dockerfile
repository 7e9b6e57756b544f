# One image for every Python service of the stack (api, scheduler, consumer, producer) and the dashboard.
FROM node:20-bookworm-slim AS ui
WORKDIR /src/frontend
COPY frontend/ ./
RUN if [ -f package-lock.json ]; then npm ci --no-audit --no-fund && npm run build; else mkdir -p out; fi

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data UI_DIST_DIR=/app/ui
WORKDIR /app
COPY README.md ./README.md
COPY backend/ ./backend/
RUN pip install --no-cache-dir ./backend && useradd --system --home /data leaderboard \
    && mkdir -p /data && chown leaderboard /data
COPY --from=ui /src/frontend/out /app/ui
USER leaderboard
EXPOSE 8000
CMD ["leaderboard", "serve"]
