"""Run callables at the same moment, each on its own database connection."""

import threading
from urllib.parse import quote

from django.db import connection


def run_concurrently(functions):
    """Start all ``functions`` together (a barrier) and return their results in order.

    Each runs in its own thread and therefore on its own PostgreSQL connection. An
    exception is returned in place of the result.
    """
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def database_url() -> str:
    """The test database as a DATABASE_URL (a server's address, or the embedded
    server's socket directory, given to libpq as ``host``)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    if db["HOST"].startswith("/"):
        return f"postgres://{db['USER']}{password}@/{db['NAME']}?host={quote(db['HOST'])}"
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
