"""Load benchmark of the HTTP API against PostgreSQL's own ceiling (``make bench``).

Modules: ``run`` drives a whole run, ``server`` starts gunicorn, ``loadgen`` is the
separate load-generating process, ``scenarios`` holds one plug-in per measured request,
``pgbench`` measures the database alone, ``stats`` and ``report`` turn figures into text.
"""
