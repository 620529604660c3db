"""Whether a hub model is in the local hub cache, read from huggingface_hub's
folder layout (models--{org}--{name}/refs/<branch>, snapshots/<commit>) without
importing a model library or asking the network."""

from pathlib import Path


def hub_snapshot(cache_dir: Path, repo_id: str, revision: str = "") -> bool:
    """True when `repo_id` has a downloaded snapshot for `revision` (a branch, a
    tag or a commit; blank means main, or any snapshot when main was never
    resolved, as from a download pinned to a commit)."""
    repo = cache_dir / f"models--{repo_id.replace('/', '--')}"
    snapshots = repo / "snapshots"
    ref = repo / "refs" / (revision or "main")
    if ref.is_file():
        return (snapshots / ref.read_text().strip()).is_dir()
    if revision:
        return (snapshots / revision).is_dir()
    return snapshots.is_dir() and any(snapshots.iterdir())
