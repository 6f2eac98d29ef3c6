"""Validate an RO-Crate against the Workflow Run Crate 0.5 profile with roc-validator
(``rocrate_validator``), offline.

The validator resolves the crate's JSON-LD context (https://w3id.org/ro/crate/1.1/context)
through its HTTP cache; in offline mode it reads only that cache. We fill a fresh cache with the
RO-Crate 1.1 context shipped in ``tests/data/`` (CC0, version 1.1.3), so no network is needed.

Run as a script to print the counts for a crate folder or an archive:

    python tests/unit/rocrate_offline.py results/test/archive.tar.gz
"""

from __future__ import annotations

import io
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"
CONTEXT_FILE = Path(__file__).resolve().parents[1] / "data" / "ro-crate-1.1-context.jsonld"
PROFILE = "workflow-run-crate-0.5"


def _fill_cache(cache: Path) -> None:
    """Store the vendored context in a requests-cache database as the response for CONTEXT_URL."""
    import requests_cache
    import urllib3
    from requests.adapters import HTTPAdapter

    body = CONTEXT_FILE.read_bytes()

    class Vendored(HTTPAdapter):
        def send(self, request, **kwargs):
            if request.url != CONTEXT_URL:
                raise ConnectionError(f"offline: {request.url}")
            raw = urllib3.HTTPResponse(
                body=io.BytesIO(body), headers={"Content-Type": "application/ld+json"}, status=200,
                preload_content=False, request_url=request.url,
            )
            return self.build_response(request, raw)

    session = requests_cache.CachedSession(str(cache), backend="sqlite", expire_after=-1)
    session.mount("https://", Vendored())
    session.mount("http://", Vendored())
    try:
        response = session.get(CONTEXT_URL)
        assert response.status_code == 200 and response.json()["@id"] == CONTEXT_URL
    finally:
        session.close()


def validate(crate_dir: str | Path, cache_dir: str | Path, severity: str = "RECOMMENDED"):
    """Run the validator on ``crate_dir`` (offline); return (result, counts).

    ``counts`` maps (severity, "passed" | "failed") to the number of executed checks.
    """
    from rocrate_validator import models, services

    cache = Path(cache_dir) / "http"
    _fill_cache(cache)
    settings = models.ValidationSettings(
        rocrate_uri=str(crate_dir), profile_identifier=PROFILE, requirement_severity=severity,
        offline=True, cache_path=cache,
    )
    result = services.validate(settings)
    counts = Counter()
    for check in result.executed_checks:
        passed = result.get_executed_check_result(check)
        counts[(check.severity.name, "passed" if passed else "failed")] += 1
    return result, counts


def issues(result) -> list[tuple[str, str, str]]:
    """(severity, check identifier, message) of every issue."""
    return sorted({(issue.severity.name, issue.check.identifier, issue.message) for issue in result.get_issues()})


def main(path: str) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        crate = Path(path)
        if crate.is_file():
            with tarfile.open(crate, "r:gz") as tar:
                tar.extractall(scratch, filter="data")
            (crate,) = [child for child in Path(scratch).iterdir() if child.is_dir()]
        result, counts = validate(crate, Path(scratch) / "cache")
        for (severity, outcome), number in sorted(counts.items()):
            print(f"{severity:12} {outcome:7} {number}")
        for severity, identifier, message in issues(result):
            print(f"{severity} {identifier}: {message}")
    return 0 if not any(outcome == "failed" for _, outcome in counts) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
