"""Run callables at the same moment, each on its own database connection."""

import threading

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
