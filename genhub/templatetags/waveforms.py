"""`{% waveform artifact %}`: a clip's waveform, as an inline SVG drawn in the
page's text colour from its cached peaks (genhub/waveform_peaks.py), or the
worker's PNG for a clip whose peaks cannot be read here."""

from typing import Any

from django import template

from genhub.waveform_peaks import HEIGHT, cached_peaks, svg_path

register = template.Library()


@register.inclusion_tag("partials/waveform.html")
def waveform(artifact: Any) -> dict[str, Any]:
    peaks = cached_peaks(artifact)
    return {
        "artifact": artifact,
        "path": svg_path(peaks) if peaks else "",
        "box": f"0 0 {len(peaks)} {HEIGHT}" if peaks else "",
    }
