"""Prometheus metrics (docs/deploy.md, "Metrics").

- `events.py`: the counters and histograms, each defined once, and the
  functions that move them where things happen (a job submitted, started or
  ended, units made, a quota refusal). Every process that runs GenHub code
  records its own; with PROMETHEUS_MULTIPROC_DIR set, each process of a pool
  writes its own file there and one endpoint sums them.
- `state.py`: what is state rather than an event (queue lengths, waiting and
  running jobs, live workers, device memory, loaded models), read from Redis
  and the database at scrape time.
- `exposition.py`: the registry a scrape reads, and `/metrics` on the web tier.
"""

from pathlib import Path

from django.conf import settings

if settings.PROMETHEUS_MULTIPROC_DIR:
    # prometheus-client writes there from the first value on and never creates it;
    # a one-off command (migrate, a probe) in a container without it must not fail.
    Path(settings.PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
