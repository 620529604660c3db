"""An image prompt through the REST API, a real Celery worker and the WebSocket."""

import io
import time

import pytest
from PIL import Image

from tests.png_records import read_png_record
from tests.stack import read_events, read_until

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(client, url):
    response = client.http.get(url)
    assert response.status_code == 200, response.text
    return response.content


def test_denoising_streams_steps_and_previews_then_pngs_with_their_record(
    alice_client, image_worker
):
    job = alice_client.generate_image(
        prompt="a lighthouse at dusk", width=64, height=48, steps=6, seed=11, guidance_scale=6
    )
    with alice_client.events(job["id"]) as socket:
        events = read_events(socket)

    assert events[0]["type"] == "snapshot"
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4, 5, 6]
    assert all(e["total"] == 6 for e in steps)
    assert [e["progress"] for e in steps] == sorted(e["progress"] for e in steps)
    previews = [e["preview"] for e in steps if "preview" in e]
    assert previews and previews[0].startswith("data:image/jpeg;base64,")
    assert events[-1]["type"] == "succeeded"

    done = alice_client.job(job["id"])
    assert done["status"] == "succeeded" and done["progress"] == 1.0
    [image] = done["result"]["images"]
    assert (image["width"], image["height"], image["seed"]) == (64, 48, 11)
    assert events[-1]["result"] == done["result"]
    [artifact] = done["artifacts"]
    png = fetch(alice_client, artifact["url"])
    assert Image.open(io.BytesIO(png)).size == (64, 48)
    record = read_png_record(png)
    assert record == artifact["record"]
    assert (record["prompt"], record["steps"], record["guidance_scale"], record["seed"]) == (
        "a lighthouse at dusk",
        6,
        6.0,
        11,
    )
    assert record["model"] == "tiny-image"
    thumbnail = fetch(alice_client, artifact["thumbnail_url"])
    assert Image.open(io.BytesIO(thumbnail)).format == "JPEG"
    assert done["metrics"]["seconds_per_image"] > 0


def test_a_batch_of_three_gives_three_files_and_three_seeds(alice_client, image_worker):
    job = alice_client.generate_image(prompt="a fox", steps=3, seed=7, num_images=3)
    done = alice_client.wait(job["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done["error"]
    assert [a["seed"] for a in done["artifacts"]] == [7, 8, 9]
    assert [a["index"] for a in done["artifacts"]] == [0, 1, 2]
    assert len({fetch(alice_client, a["url"]) for a in done["artifacts"]}) == 3


def test_the_same_request_twice_gives_the_same_bytes(alice_client, image_worker):
    first = alice_client.generate_image(prompt="a fox", steps=3, seed=21)
    second = alice_client.generate_image(prompt="a fox", steps=3, seed=21)
    first = alice_client.wait(first["id"], {"succeeded"})
    second = alice_client.wait(second["id"], {"succeeded"})
    assert fetch(alice_client, first["artifacts"][0]["url"]) == fetch(
        alice_client, second["artifacts"][0]["url"]
    )


def test_a_late_connection_gets_the_last_step_and_preview_in_the_snapshot(
    alice_client, image_worker
):
    job = alice_client.generate_image(prompt="a fox", width=256, height=256, steps=150, seed=1)
    with alice_client.events(job["id"]) as first:
        seen = read_until(first, "step")
        while "preview" not in seen[-1]:
            seen.append(read_until(first, "step")[-1])
        with alice_client.events(job["id"]) as late:
            snapshot = read_until(late, "snapshot")[-1]
        alice_client.http.post(f"/jobs/{job['id']}/cancel")
        read_events(first)
    assert snapshot["status"] == "running"
    assert snapshot["step"] >= seen[-1]["step"] and snapshot["total"] == 150
    assert snapshot["preview"].startswith("data:image/jpeg;base64,")


def test_cancel_mid_denoise_stops_within_a_step_and_keeps_no_file(alice_client, image_worker):
    job = alice_client.generate_image(prompt="a fox", width=256, height=256, steps=150, seed=2)
    with alice_client.events(job["id"]) as socket:
        before = read_until(socket, "step")
        response = alice_client.http.post(f"/jobs/{job['id']}/cancel")
        asked = time.monotonic()
        assert response.status_code == 202
        after = read_events(socket, timeout=20)
        stopped_within = time.monotonic() - asked
    events = before + after
    assert events[-1]["type"] == "cancelled"
    steps = [e["step"] for e in events if e["type"] == "step"]
    assert steps[-1] < 150
    done = alice_client.job(job["id"])
    assert done["status"] == "cancelled"
    assert done["artifacts"] == []
    # A step at 256×256 on the tiny model takes tens of milliseconds.
    assert stopped_within < 2.0


def test_image_to_image_through_the_service(alice_client, image_worker):
    buffer = io.BytesIO()
    Image.new("RGB", (72, 64), (0, 200, 0)).save(buffer, "PNG")
    upload = {"init_image": ("green.png", buffer.getvalue(), "image/png")}
    response = alice_client.http.post(
        "/images/generations",
        data={"prompt": "a green field", "steps": "4", "strength": "0.5", "seed": "3"},
        files=upload,
    )
    assert response.status_code == 202, response.text
    done = alice_client.wait(response.json()["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done["error"]
    outputs = [a for a in done["artifacts"] if a["role"] == "output"]
    assert [(a["width"], a["height"]) for a in outputs] == [(72, 64)]
    assert outputs[0]["record"]["mode"] == "image-to-image"


def test_another_user_cannot_fetch_the_images(alice_client, bob_client, image_worker):
    job = alice_client.generate_image(prompt="a fox", steps=2, seed=1)
    done = alice_client.wait(job["id"], {"succeeded"})
    url = done["artifacts"][0]["url"]
    assert bob_client.http.get(url).status_code == 404
    assert bob_client.http.get(done["artifacts"][0]["thumbnail_url"]).status_code == 404
