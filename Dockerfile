# lawful-crm serve in a container: python slim, installed from this repository, run as a non-root user.
#   docker build -t lawful-crm .
#   docker run -p 8080:8080 -v lawful-crm:/var/lib/lawful-crm -v /etc/lawful-crm:/etc/lawful-crm:ro \
#     --env-file /etc/lawful-crm/lawful-crm.env lawful-crm
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LAWFUL_CRM_STORE__URL=sqlite:////var/lib/lawful-crm/lawful-crm.db \
    LAWFUL_CRM_DNC__KEY_FILE=/var/lib/lawful-crm/lawful-crm.dnc-key

WORKDIR /src
COPY pyproject.toml README.md lawful-crm.toml.example ./
COPY connector ./connector
COPY mappings ./mappings
RUN pip install . && rm -rf /src

RUN useradd --system --home-dir /var/lib/lawful-crm --create-home --uid 10001 lawful-crm \
    && chmod 0700 /var/lib/lawful-crm
USER lawful-crm
WORKDIR /var/lib/lawful-crm
VOLUME ["/var/lib/lawful-crm"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

ENTRYPOINT ["lawful-crm"]
CMD ["serve", "--config", "/etc/lawful-crm/lawful-crm.toml", "--host", "0.0.0.0", "--port", "8080"]
