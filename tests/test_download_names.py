"""Downloads are named from their prompt and seed (`lighthouse-at-dusk-7.png`),
in the Content-Disposition header and in the pages' `download` attributes."""

import pytest

from genhub.download_names import content_disposition, download_name, slug


@pytest.mark.unit
@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("A lighthouse at dusk", "a-lighthouse-at-dusk"),
        ("  Lighthouse, at DUSK!!  ", "lighthouse-at-dusk"),
        ("Café crème brûlée", "cafe-creme-brulee"),
        ("a jazz trio / 90 bpm", "a-jazz-trio-90-bpm"),
        ("日本の夏", "genhub"),
        ("", "genhub"),
        ("../../etc/passwd", "etc-passwd"),
        ("x" * 100, "x" * 40),
        # Cut at a word, within 40 characters.
        (
            "an extraordinarily detailed watercolour painting of a harbour",
            "an-extraordinarily-detailed-watercolour",
        ),
    ],
)
def test_the_slug_is_the_prompts_first_words_in_plain_ascii(prompt, expected):
    assert slug(prompt) == expected
    assert len(slug(prompt)) <= 40


@pytest.mark.unit
def test_names_carry_the_seed_the_index_among_several_and_what_it_is():
    assert download_name("Lighthouse at dusk", "png", seed=7) == "lighthouse-at-dusk-7.png"
    assert download_name("A jazz trio", "wav", seed=42) == "a-jazz-trio-42.wav"
    assert download_name("A fox", "png", seed=8, index=2) == "a-fox-8-2.png"
    assert download_name("Write a haiku", "txt", seed=5, suffix="answer") == (
        "write-a-haiku-5-answer.txt"
    )
    assert download_name("", "txt", suffix="answer") == "genhub-answer.txt"


@pytest.mark.unit
def test_the_header_gives_both_rfc_6266_forms():
    assert content_disposition("a-fox-7.png") == (
        "inline; filename=\"a-fox-7.png\"; filename*=UTF-8''a-fox-7.png"
    )
    assert content_disposition("a b.png", attachment=True) == (
        "attachment; filename=\"a b.png\"; filename*=UTF-8''a%20b.png"
    )
    # A name that is not ASCII (none made here is) still makes a valid header.
    header = content_disposition('é"x.png')
    assert header == "inline; filename=\"?_x.png\"; filename*=UTF-8''%C3%A9%22x.png"
