# One image for the api, the worker and the one-shot migrate (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, pinned by constraints.txt, so a code change reuses this layer. Only the
# production ones: the dev extra (embedded servers, test tools) and tools/ stay out.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY alembic.ini ./
COPY migrations ./migrations
COPY shared ./shared
COPY services ./services
# Editable, so alembic.ini and migrations/ sit beside the packages as in a checkout.
RUN pip install -c constraints.txt --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /app --no-create-home mediation

USER mediation
ENV HOST=0.0.0.0 \
    PORT=8000 \
    MEDIATION_ENV=production \
    MEDIATION_DATA_DIR=/tmp/mediation
EXPOSE 8000
CMD ["mediation-api"]
