"""Connect arguments for a SQLite metadata database, named by ``[database] sql_alchemy_connect_args`` (and its
``_async`` twin) in a SQLite deployment's environment (``LocalAirflow.env``).

Airflow imports this module while it configures its engines, so it imports nothing.
"""

#: sqlite3's ``timeout``: how long a connection waits for another process's lock before ``database is
#: locked``. The default 5 s is too short when the scheduler, dag-processor, triggerer, api-server and CLI
#: calls all write to one file (``airflow backfill create`` failed so beside a running scheduler). It stays
#: well under the 30 s a client of the api-server waits for an answer (``lemlist_dev``'s REST client, the
#: UI): every waiter queues behind a writer that waits, so a wait as long as the client's is an api-server
#: that stops answering. pysqlite (sync) and aiosqlite (async) both pass it to ``sqlite3.connect``.
CONNECT_ARGS = {"timeout": 15.0}
