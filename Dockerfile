# Production image: the official Airflow image plus this project's provider (airflow-provider-lemlist).
#
#   docker compose build            (docker-compose.yaml uses this file for every Airflow service)
#
# The base tag must match `apache-airflow==` in requirements.txt (tests/e2e/test_compose_structure.py checks).
FROM apache/airflow:3.3.2-python3.11

# The official image installs Python packages as the `airflow` user (never as root) and sets AIRFLOW_VERSION.
USER airflow
WORKDIR /opt/airflow

# Runtime pins only: requirements.txt up to its "# Tests and tooling." section (pytest and ruff stay out),
# minus psycopg2-binary (the image ships psycopg2 built from source; both would own the same module).
# apache-airflow is pinned to the image's own version so pip never up- or downgrades Airflow.
COPY --chown=airflow:0 requirements.txt /tmp/requirements.txt
RUN sed '/^# Tests and tooling/,$d' /tmp/requirements.txt | grep -v '^psycopg2-binary' > /tmp/requirements-runtime.txt \
    && pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/requirements-runtime.txt

# The provider (and the sandbox package) as a regular, non-editable install: the entry point that gives the
# `lemlist` connection type its form, and the triggers the triggerer must import, live in site-packages.
# docker-compose.yaml also mounts ./include and puts it first on PYTHONPATH, so edits show without a rebuild.
COPY --chown=airflow:0 pyproject.toml README.md /tmp/project/
COPY --chown=airflow:0 include/lemlist_provider /tmp/project/include/lemlist_provider
COPY --chown=airflow:0 include/lemlist_sandbox /tmp/project/include/lemlist_sandbox
RUN pip install --no-cache-dir --no-deps /tmp/project && rm -rf /tmp/project

# The settings applier run by the airflow-init service; DAGs, plugins, include/ and the settings file are
# mounted by docker-compose.yaml (copy them here as well to ship a self-contained image).
COPY --chown=airflow:0 scripts/apply_settings.py /opt/airflow/scripts/apply_settings.py
ENV PYTHONPATH=/opt/airflow/include
