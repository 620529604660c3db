from genhub.celery import app as celery_app

# Kept equal to pyproject.toml's version (tests/test_workers.py checks); workers report it.
__version__ = "0.1.0"

__all__ = ["__version__", "celery_app"]
