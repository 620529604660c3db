"""The official `openai` package, unmodified, against a live GenHub (uvicorn, a
real worker, real Redis): every answer is an ordinary job, streamed or not."""

import base64
import io
import threading
import time

import httpx
import openai
import pytest
from openai import OpenAI
from PIL import Image

from genhub.models import ApiKey, Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key(live, alice):
    return ApiKey.issue(alice)[1]


@pytest.fixture
def client(live, key):
    return OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0, timeout=60)


def job_of(completion_id):
    return Job.objects.get(pk=completion_id.split("-", 1)[1])


def wait_for_status(job_id, statuses, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} still {job.status}")


def test_models_lists_every_enabled_model(client, tiny_text, tiny_image, tiny_audio):
    models = {m.id: m for m in client.models.list()}
    assert {tiny_text.name, tiny_image.name, tiny_audio.name} <= set(models)
    assert all(m.owned_by == "genhub" and m.object == "model" for m in models.values())
    assert client.models.retrieve(tiny_text.name).id == tiny_text.name


def test_a_chat_completion_is_a_job_with_its_text_and_usage(client, tiny_text, text_worker):
    raw = client.chat.completions.with_raw_response.create(
        model=tiny_text.name,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=12,
        seed=3,
        temperature=0.5,
    )
    completion = raw.parse()
    job = job_of(completion.id)
    assert raw.headers["X-GenHub-Job"] == str(job.pk)
    assert completion.object == "chat.completion" and completion.model == tiny_text.name
    [choice] = completion.choices
    assert job.status == "succeeded"
    assert choice.message.role == "assistant"
    assert choice.message.content == job.result["text"]
    assert choice.finish_reason == job.result["finish_reason"] == "length"
    assert job.params["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (job.params["max_new_tokens"], job.params["seed"]) == (12, 3)
    usage = completion.usage
    assert usage.completion_tokens == 12 == job.result["usage"]["completion_tokens"]
    assert usage.prompt_tokens == job.result["usage"]["prompt_tokens"] > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_a_streamed_chat_completion_sends_tokens_as_they_arrive(client, tiny_text, text_worker):
    stream = client.chat.completions.create(
        model=tiny_text.name,
        messages=[{"role": "user", "content": "Tell me a story"}],
        max_completion_tokens=64,
        stream=True,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len([c for c in chunks if c.choices[0].delta.content]) > 1, "tokens came in pieces"
    assert chunks[-1].choices[0].finish_reason == "length"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    job = job_of(chunks[0].id)
    assert job.status == "succeeded" and text == job.result["text"]


def test_include_usage_adds_a_last_chunk_with_the_usage(client, tiny_text, text_worker):
    stream = client.chat.completions.create(
        model=tiny_text.name,
        messages=[{"role": "user", "content": "Hi"}],
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.completion_tokens == 8
    assert last.usage.total_tokens == last.usage.prompt_tokens + 8
    assert chunks[-2].choices[0].finish_reason == "length"


def test_n_2_makes_two_jobs_with_consecutive_seeds(client, tiny_text, text_worker):
    completion = client.chat.completions.create(
        model=tiny_text.name,
        messages=[{"role": "user", "content": "Hi"}],
        max_tokens=6,
        n=2,
        seed=40,
    )
    assert [c.index for c in completion.choices] == [0, 1]
    jobs = Job.objects.filter(owner__username="alice").order_by("created_at")
    assert [j.params["seed"] for j in jobs] == [40, 41]
    assert [c.message.content for c in completion.choices] == [j.result["text"] for j in jobs]
    assert completion.usage.completion_tokens == 12
    assert completion.usage.prompt_tokens == jobs[0].result["usage"]["prompt_tokens"]

    stream = client.chat.completions.create(
        model=tiny_text.name,
        messages=[{"role": "user", "content": "Hi"}],
        max_tokens=6,
        n=2,
        stream=True,
    )
    texts = {0: "", 1: ""}
    finished = set()
    for chunk in stream:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finished.add(choice.index)
    assert finished == {0, 1}
    streamed = Job.objects.filter(owner__username="alice").order_by("-created_at")[:2]
    assert sorted(texts.values()) == sorted(j.result["text"] for j in streamed)


def test_a_completion_continues_the_prompt(client, tiny_text, text_worker):
    completion = client.completions.create(
        model=tiny_text.name, prompt="Once upon a time", max_tokens=10, stop=["zzzz"]
    )
    assert completion.object == "text_completion"
    job = job_of(completion.id)
    assert job.params["prompt"] == "Once upon a time" and job.params["stop"] == ["zzzz"]
    assert completion.choices[0].text == job.result["text"]
    assert completion.usage.completion_tokens == job.result["usage"]["completion_tokens"]

    chunks = list(
        client.completions.create(
            model=tiny_text.name, prompt="Once upon a time", max_tokens=10, stream=True
        )
    )
    assert "".join(c.choices[0].text for c in chunks) == job_of(chunks[0].id).result["text"]
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_images_come_as_urls_or_base64(client, key, tiny_image, image_worker):
    result = client.images.generate(
        model=tiny_image.name, prompt="a red square", n=2, size="64x48", quality="hd"
    )
    assert len(result.data) == 2
    for image in result.data:
        response = httpx.get(image.url, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.content)).size == (64, 48)
    assert httpx.get(result.data[0].url).status_code == 401, "the file needs the key"

    result = client.images.generate(
        model=tiny_image.name, prompt="a blue circle", size="32x32", response_format="b64_json"
    )
    [image] = result.data
    assert image.url is None
    png = base64.b64decode(image.b64_json)
    assert Image.open(io.BytesIO(png)).size == (32, 32)
    job = Job.objects.filter(modality="image").order_by("-created_at").first()
    assert job.status == "succeeded" and job.params["num_images"] == 1


def test_an_unknown_model_raises_the_clients_own_error(client, tiny_text, tiny_image):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "Hi"}]
        )
    assert raised.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=tiny_image.name, messages=[{"role": "user", "content": "Hi"}]
        )
    assert raised.value.param == "model"
    with pytest.raises(openai.BadRequestError) as raised:
        client.completions.create(model=tiny_text.name, prompt="Hi", max_tokens=100_000)
    assert raised.value.param == "max_tokens"
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=client.base_url, api_key="gh_wrong", max_retries=0).models.list()


def test_a_stream_closed_early_cancels_its_job(client, tiny_text, text_worker):
    stream = client.chat.completions.create(
        model=tiny_text.name,
        messages=[{"role": "user", "content": "Go on and on"}],
        max_tokens=4096,
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    job_id = chunk.id.split("-", 1)[1]
    stream.close()
    job = wait_for_status(job_id, {"cancelled", "succeeded", "failed"})
    assert job.status == "cancelled"
    assert job.result["usage"]["completion_tokens"] < 4096


def test_a_failed_job_answers_with_its_own_sentence(client, tiny_text, text_worker):
    # The tiny model holds 4400 tokens: this prompt and 4096 new ones do not fit.
    long_prompt = "word " * 390  # under the 2000-character prompt limit
    with pytest.raises(openai.InternalServerError) as raised:
        client.completions.create(model=tiny_text.name, prompt=long_prompt, max_tokens=4096)
    error = raised.value
    assert error.response.headers["x-should-retry"] == "false"
    assert error.code == "job_failed" and error.type == "server_error"
    job = Job.objects.get(pk=error.response.headers["X-GenHub-Job"])
    assert job.status == "failed"
    assert job.error in error.message and "Shorten the prompt" in error.message

    stream = client.completions.create(
        model=tiny_text.name, prompt=long_prompt, max_tokens=4096, stream=True
    )
    with pytest.raises(openai.APIError) as raised:
        list(stream)
    assert "Shorten the prompt" in raised.value.message


def test_a_job_cancelled_meanwhile_answers_that_it_was_cancelled(
    client, key, live, tiny_text, text_worker
):
    outcome = {}

    def ask():
        try:
            client.chat.completions.create(
                model=tiny_text.name,
                messages=[{"role": "user", "content": "Go on"}],
                max_tokens=4096,
            )
        except openai.APIStatusError as error:
            outcome["error"] = error

    asking = threading.Thread(target=ask)
    asking.start()
    deadline = time.monotonic() + 30
    while not (job := Job.objects.filter(status="running").first()):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    cancel = httpx.post(
        f"{live.url}/api/v1/jobs/{job.pk}/cancel", headers={"Authorization": f"Bearer {key}"}
    )
    assert cancel.status_code == 202
    asking.join(30)
    error = outcome["error"]
    assert error.status_code == 409 and error.code == "job_cancelled"
    assert "cancelled" in error.message
    assert wait_for_status(job.pk, {"cancelled"}).status == "cancelled"
