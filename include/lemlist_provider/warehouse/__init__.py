"""lemlist data in a SQL warehouse: typed tables plus each record's raw JSON, loaded incrementally.

``tables`` defines the tables, ``database`` creates and writes them through any common-sql ``DbApiHook``
(one code path for SQLite and PostgreSQL), ``checkpoints`` lets a killed run resume where it stopped,
``streams`` reads lemlist into them, ``assets`` names the Airflow Asset of each table. The DAG is
``dags/lemlist_warehouse_sync.py``; docs/warehouse.md explains incremental loads, backfills and resumes.
"""
