"""Small pictures for the gallery, so a page of cards does not download every
full-size PNG. The worker writes one beside each image it makes
(imagegen/pngs.py); an image stored without one (an init image, or a file kept
before thumbnails existed) gets it here on first request, with Pillow, and it is
kept on the Artifact for every later request."""

import io
import logging

from django.core.files.base import ContentFile

from genhub.models import Artifact

log = logging.getLogger(__name__)

SIZE = (256, 256)
QUALITY = 85


def ensure_thumbnail(artifact: Artifact) -> bool:
    """Make and keep `artifact`'s thumbnail if it is an image without one. True
    when it has one afterwards."""
    if artifact.thumbnail:
        return True
    if not artifact.mime_type.startswith("image/") or not artifact.file:
        return False
    from PIL import Image, UnidentifiedImageError

    try:
        with artifact.file.open("rb") as stored, Image.open(stored) as image:
            image.thumbnail(SIZE)
            small = image.convert("RGB")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as error:
        log.warning("no thumbnail for artifact %s: %s", artifact.pk, error)
        return False
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=QUALITY, optimize=True)
    stem = (artifact.file.name or "image").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    artifact.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(buffer.getvalue()), save=False)
    # Only this field: a concurrent request making the same thumbnail loses nothing.
    Artifact.objects.filter(pk=artifact.pk).update(thumbnail=artifact.thumbnail.name)
    return True
