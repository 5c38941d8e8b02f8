# The image docker-compose.yml runs as web (gunicorn), worker and beat.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/app/var
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN scripts/collect-static.sh \
    && useradd --system --home /app tracker && mkdir -p /app/var && chown -R tracker /app/var
USER tracker
EXPOSE 8000
# Workers, threads, connection cap and keep-alive: config/gunicorn.conf.py (WEB_* env).
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
