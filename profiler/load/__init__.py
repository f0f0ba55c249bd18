"""Load tests past one machine: the sample workload (or your own tasks) as Locust users.

Locust runs the users, one process per worker, each on its own machine or all
on one; every SDK call goes through the instrumented SDK and is reported to
Locust's statistics *and* kept as our trace. The workers send their traces to
the master with Locust's messaging, and the master writes one run directory
(``summary.json``, ``requests.jsonl`` with a ``worker`` per call, ``report.html``).

Nothing here imports Locust except :mod:`profiler.load.user`,
:mod:`profiler.load.locustfile` and the worker/master halves they load:
importing Locust monkey-patches the process with gevent, so only a process that
``locust -f`` started may do it. See docs/load.md.
"""

from profiler.load._gevent import import_trio_under_gevent

import_trio_under_gevent()  # before anything of ours imports the SDK
