"""What runs inside a Celery worker: the task, claiming and running a job under a
heartbeat, the model cache, devices and progress. Only worker processes import
this package (and the runners, which import torch)."""
