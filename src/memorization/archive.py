"""The archive of one scale's results, and its verification.

`build_archive` writes a ``.tar.gz`` with one top folder holding the results (figures, tables,
metrics, claims report, provenance records, the Snakemake report, the exact config), the
workflow source that produced them, the installed package list, RO-Crate metadata describing the
workflow run (written with the ``rocrate`` package) and a ``SHA256SUMS`` file covering every
other file. ``SHA256SUMS`` ends with a comment line holding the sha256 of the lines above it
(``sha256sum -c`` skips comments), so an altered ``SHA256SUMS`` is told apart from an altered
file; the RO-Crate metadata repeats each file's sha256 as a second witness.

`verify_archive` reads the archive as a stream (it writes nothing anywhere) and names every
missing, extra or altered file.
"""

from __future__ import annotations

import gzip
import io
import json
import mimetypes
import os
import re
import tarfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from memorization import __version__
from memorization.errors import MemorizationError
from memorization.files import atomic_output, sha256_bytes, sha256_file

SUMS = "SHA256SUMS"
CRATE = "ro-crate-metadata.json"
PACKAGES = "packages.txt"
README = "README.md"
CRATE_VERSION = "1.1"
# Reading an archive: files are hashed in chunks of CHUNK bytes; a file that would expand to
# more than MAX_MEMBER_BYTES (or all of them to more than MAX_TOTAL_BYTES) is refused, since a
# small .tar.gz can hold a huge run of zeros. Trained models (the largest files) are far smaller.
CHUNK = 1 << 20
MAX_MEMBER_BYTES = 4 << 30
MAX_TOTAL_BYTES = 64 << 30
MAX_METADATA_BYTES = 256 << 20
SELF_CHECK = re.compile(r"^# sha256 of the lines above: ([0-9a-f]{64})$")
SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": "Process Run Crate",
    "https://w3id.org/ro/wfrun/workflow/0.5": "Workflow Run Crate",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": "Workflow RO-Crate",
}
DATASET_URLS = {
    "mnist": "http://yann.lecun.com/exdb/mnist/",
    "fashion_mnist": "https://github.com/zalandoresearch/fashion-mnist",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar.html",
}
# Software recorded in the provenance records: display name, home page, and how to name one
# version of it by an absolute URI (the Process Run Crate profile asks for absolute ids and a url).
SOFTWARE = {
    "python": ("Python", "https://www.python.org/", "https://www.python.org/downloads/release/python-{compact}/"),
    "keras": ("Keras", "https://keras.io/", None),
    "tensorflow": ("TensorFlow", "https://www.tensorflow.org/", None),
    "tensorflow-cpu": ("TensorFlow (CPU build)", "https://www.tensorflow.org/", None),
    "jax": ("JAX", "https://docs.jax.dev/", None),
    "jaxlib": ("jaxlib", "https://docs.jax.dev/", None),
    "torch": ("PyTorch", "https://pytorch.org/", None),
    "numpy": ("NumPy", "https://numpy.org/", None),
    "pandas": ("pandas", "https://pandas.pydata.org/", None),
    "snakemake": ("Snakemake", "https://snakemake.github.io/", None),
    "matplotlib": ("Matplotlib", "https://matplotlib.org/", None),
    "seaborn": ("seaborn", "https://seaborn.pydata.org/", None),
}
SOFTWARE_NAMES = {package: entry[0] for package, entry in SOFTWARE.items()}
BIOSCHEMAS_WORKFLOW = "https://bioschemas.org/profiles/ComputationalWorkflow/1.0-RELEASE"
COMPLETED = "http://schema.org/CompletedActionStatus"
AUTHORS = {
    "@id": "#memorization-reproduction-authors",
    "@type": "Organization",
    "name": "The memorization-reproduction authors",
}
LICENSES = {
    "https://spdx.org/licenses/MIT": {"name": "MIT License", "identifier": "MIT"},
}
# `sha256` is not a term of the RO-Crate 1.1 context (it is from 1.2 on): declare it, so the
# metadata stays valid compacted JSON-LD.
EXTRA_TERMS = {"sha256": "http://schema.org/sha256"}


def software_id(package: str, version: str) -> str:
    """An absolute URI for one version of a package: its PyPI release page (Python: its release page)."""
    pattern = SOFTWARE.get(package, (None, None, None))[2]
    if pattern:
        return pattern.format(version=version, compact=version.replace(".", ""))
    return f"https://pypi.org/project/{package}/{version}/"


def _single(values: list):
    """One value as itself, several as a list (RO-Crate prefers no singleton arrays)."""
    return values[0] if len(values) == 1 else values


class ArchiveError(MemorizationError):
    """An archive could not be written or read."""


@dataclass(frozen=True)
class Member:
    """One file of the archive: where it is now, and its path inside the archive's top folder."""

    source: Path
    name: str
    role: str = "result"  # result | input | workflow


@dataclass
class Verification:
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def installed_packages() -> str:
    """``name==version`` of every installed distribution, sorted, one a line (like pip freeze)."""
    seen = {}
    for distribution in importlib_metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            seen.setdefault(name.lower(), f"{name}=={distribution.version}")
    return "\n".join(seen[key] for key in sorted(seen)) + "\n"


def sums_text(hashes: dict[str, str]) -> str:
    """``sha256sum``-compatible lines, then the comment line that protects them."""
    body = "".join(f"{hashes[name]}  {name}\n" for name in sorted(hashes))
    return body + f"# sha256 of the lines above: {sha256_bytes(body.encode())}\n"


def _check_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\n" in name:
        raise ArchiveError(f"archive member name {name!r} must be a relative path without '..'")
    return path.as_posix()


def _encoding(name: str) -> str:
    known = {".csv": "text/csv", ".md": "text/markdown", ".yaml": "application/yaml", ".smk": "text/x-python",
             ".npz": "application/octet-stream", ".keras": "application/zip", ".rst": "text/x-rst",
             ".json": "application/json", ".tsv": "text/tab-separated-values"}
    suffix = PurePosixPath(name).suffix
    if suffix in known:
        return known[suffix]
    if PurePosixPath(name).name in {"Snakefile", SUMS}:
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _run_summary(records: list[dict]) -> dict:
    started = [record["started"] for record in records if record.get("started")]
    finished = [record["finished"] for record in records if record.get("finished")]
    software = {}
    for record in records:
        for package, version in (record.get("packages") or {}).items():
            if package in SOFTWARE_NAMES:
                software[package] = version
    datasets = {}
    for record in records:
        summary = record.get("data")
        if isinstance(summary, dict) and summary.get("dataset"):
            datasets[summary["dataset"]] = summary
    commits = sorted({(record.get("git") or {}).get("commit") for record in records} - {None})
    return {
        "started": min(started) if started else None,
        "finished": max(finished) if finished else None,
        "software": software,
        "datasets": datasets,
        "commits": commits,
    }


def _project_metadata(members: list[Member]) -> dict:
    """Version and home page of the workflow, from the archived ``pyproject.toml`` if there is one
    (``[project] version`` and the first of ``Homepage``, ``Repository``, ``Source`` in
    ``[project.urls]``)."""
    import tomllib

    found = {"version": None, "url": None}
    source = next((member.source for member in members if PurePosixPath(member.name).name == "pyproject.toml"), None)
    if source is None:
        return found
    try:
        project = tomllib.loads(Path(source).read_text()).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return found
    urls = project.get("urls") or {}
    found["version"] = project.get("version")
    found["url"] = next((urls[key] for key in ("Homepage", "Repository", "Source") if urls.get(key)), None)
    return found


def crate_metadata(
    members: list[Member],
    hashes: dict[str, str],
    sizes: dict[str, int],
    *,
    name: str,
    description: str,
    main_workflow: str,
    records: list[dict],
    license_id: str = "https://spdx.org/licenses/MIT",
    readme: str | None = None,
    workflow_version: str | None = None,
) -> bytes:
    """RO-Crate metadata (Workflow Run Crate 0.5, Process Run Crate 0.5 and Workflow RO-Crate 1.0
    profiles) for the archive's files, as JSON bytes.

    ``readme``, if given, is the member that describes the crate (``about`` the root).
    """
    from rocrate.model.contextentity import ContextEntity
    from rocrate.rocrate import ROCrate

    run = _run_summary(records)
    project = _project_metadata(members)
    crate = ROCrate(version=CRATE_VERSION)
    crate.metadata.extra_terms.update(EXTRA_TERMS)
    crate.name = name
    crate.description = description
    crate.root_dataset["datePublished"] = run["finished"] or "1970-01-01T00:00:00+00:00"
    license_entity = crate.add(
        ContextEntity(
            crate, license_id, properties={"@type": "CreativeWork", **LICENSES.get(license_id, {"name": license_id})}
        )
    )
    crate.root_dataset["license"] = license_entity
    author_properties = {key: value for key, value in AUTHORS.items() if key != "@id"}
    if project["url"]:
        author_properties["url"] = project["url"]
    authors = crate.add(ContextEntity(crate, AUTHORS["@id"], properties=author_properties))
    crate.root_dataset["author"] = authors
    crate.root_dataset["publisher"] = authors

    def file_properties(member: Member) -> dict:
        return {
            "name": PurePosixPath(member.name).name,
            "sha256": hashes[member.name],
            "contentSize": str(sizes[member.name]),
            "encodingFormat": _encoding(member.name),
        }

    entities = {}
    main = next((member for member in members if member.name == main_workflow), None)
    if main is None:
        raise ArchiveError(f"the main workflow file {main_workflow} is not among the archived files")
    workflow = crate.add_workflow(
        source=str(main.source),
        dest_path=main.name,
        main=True,
        lang="snakemake",
        lang_version=run["software"].get("snakemake"),
        properties=file_properties(main) | {"name": "Snakemake workflow reproducing arXiv:1810.10333"},
    )
    workflow["conformsTo"] = crate.add(
        ContextEntity(
            crate,
            BIOSCHEMAS_WORKFLOW,
            properties={
                "@type": "CreativeWork",
                "name": "Bioschemas ComputationalWorkflow profile 1.0",
                "version": "1.0-RELEASE",
            },
        )
    )
    workflow["version"] = workflow_version or project["version"] or __version__
    if project["url"]:
        workflow["url"] = project["url"]
    if run["commits"]:
        workflow["description"] = "workflow and library source at git commit " + ", ".join(run["commits"])
    entities[main.name] = workflow
    for member in members:
        if member.name not in entities:
            properties = file_properties(member)
            if member.name == readme:
                properties |= {"about": crate.root_dataset, "encodingFormat": "text/markdown"}
            entities[member.name] = crate.add_file(
                source=str(member.source), dest_path=member.name, properties=properties
            )

    software = []
    for package, version in sorted(run["software"].items()):
        label, home, _ = SOFTWARE[package]
        software.append(
            crate.add(
                ContextEntity(
                    crate,
                    software_id(package, version),
                    properties={"@type": "SoftwareApplication", "name": label, "softwareVersion": version, "url": home},
                )
            )
        )
    if software:
        workflow["softwareRequirements"] = _single(software)

    inputs = [entities[member.name] for member in members if member.role == "input"]
    for dataset, summary in sorted(run["datasets"].items()):
        inputs.append(
            crate.add(
                ContextEntity(
                    crate,
                    f"#dataset-{dataset}",
                    properties={
                        "@type": "Dataset",
                        "name": dataset,
                        "description": f"prepared from {summary.get('origin')}; "
                        f"{summary.get('n_train')} training and {summary.get('n_test')} test images",
                        "sha256": summary.get("sha256"),
                        "url": DATASET_URLS.get(dataset),
                    },
                )
            )
        )
    results = [entities[member.name] for member in members if member.role == "result"]
    action_properties = {
        "@type": "CreateAction",
        "name": f"Run of the workflow: {name}",
        # A plain value, as the Process Run Crate profile writes it (not an {"@id": ...} object).
        "actionStatus": COMPLETED,
        "agent": authors,
    }
    if run["started"]:
        action_properties["startTime"] = run["started"]
    if run["finished"]:
        action_properties["endTime"] = run["finished"]
    if run["commits"]:
        action_properties["description"] = "code at git commit " + ", ".join(run["commits"])
    action = crate.add_action(workflow, identifier="#workflow-run", properties=action_properties)
    if inputs:
        action["object"] = _single(inputs)
    if results:
        action["result"] = _single(results)
    crate.root_dataset["mentions"] = action
    profiles = [
        crate.add(
            ContextEntity(
                crate, uri, properties={"@type": "CreativeWork", "name": label, "version": uri.rsplit("/", 1)[-1]}
            )
        )
        for uri, label in PROFILES.items()
    ]
    crate.root_dataset["conformsTo"] = profiles
    return b"".join(chunk for _, chunk in crate.metadata.stream()) + b"\n"


def readme_text(*, name: str, description: str, top: str) -> str:
    """The archive's own README.md: what it is, what it holds and how to check it."""
    return f"""# {name}

{description}

## Contents

- `claims.csv`, `claims.md`: one row per claim of the paper, with its statistic, threshold and verdict;
  `figures/`, `tables/`: the figures and tidy tables behind them; `models/`: each trained model's
  training summary, loss history and provenance (the weights only on request); `runs/`: per-run
  metrics and example arrays; `provenance/`: the provenance index of every claim.
- `report.html`: the Snakemake report; `config.yaml`: the exact config of the run.
- `workflow/`: the workflow and library source that produced these files.
- `packages.txt`: the installed Python packages; `ro-crate-metadata.json`: RO-Crate metadata
  (Workflow Run Crate 0.5) describing the run, its inputs, outputs and software;
  `SHA256SUMS`: the sha256 of every other file.

## Checking it

```bash
memorization verify-archive archive.tar.gz    # streams the archive, extracts nothing
tar xzf archive.tar.gz && cd {top} && sha256sum -c SHA256SUMS
```

How to rerun the workflow is in `workflow/README.md`; `config.yaml` is the config to pass it
with `--configfile`.
"""


def build_archive(
    output: str | os.PathLike,
    members: list[Member],
    *,
    top: str,
    name: str,
    description: str,
    main_workflow: str,
    records: list[dict],
) -> dict:
    """Write the archive atomically; return {archive path: sha256} of what it holds.

    ``members`` are the files to include; ``records`` the provenance records of the jobs behind
    them (for the run's start and end, software and data sets in the RO-Crate metadata).
    """
    seen = set()
    for member in members:
        _check_name(member.name)
        if member.name in seen or member.name in {SUMS, CRATE, PACKAGES, README}:
            raise ArchiveError(f"archive member {member.name} is listed twice or clashes with a generated file")
        if not Path(member.source).is_file():
            raise ArchiveError(f"cannot archive {member.source}: no such file; rerun the workflow target first")
        seen.add(member.name)

    generated = {
        PACKAGES: installed_packages().encode(),
        README: readme_text(name=name, description=description, top=top).encode(),
    }
    hashes = {member.name: sha256_file(member.source) for member in members}
    sizes = {member.name: Path(member.source).stat().st_size for member in members}
    for generated_name, payload in generated.items():
        hashes[generated_name], sizes[generated_name] = sha256_bytes(payload), len(payload)
    generated_members = [Member(Path(os.devnull), generated_name, "result") for generated_name in sorted(generated)]
    crate = crate_metadata(
        [*members, *generated_members], hashes, sizes,
        name=name, description=description, main_workflow=main_workflow, records=records, readme=README,
    )
    generated[CRATE] = crate
    hashes[CRATE] = sha256_bytes(crate)
    generated[SUMS] = sums_text(hashes).encode()

    # Fixed timestamps and owners: the same files always give the same archive bytes.
    with atomic_output(output) as temporary:
        with open(temporary, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as compressed:
            with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for member in sorted(members, key=lambda item: item.name):
                    with open(member.source, "rb") as handle:
                        tar.addfile(_tar_info(f"{top}/{member.name}", sizes[member.name]), handle)
                for generated_name in sorted(generated):
                    payload = generated[generated_name]
                    tar.addfile(_tar_info(f"{top}/{generated_name}", len(payload)), io.BytesIO(payload))
    return hashes


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def read_members(
    path: str | os.PathLike,
    *,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> tuple[dict[str, str], dict[str, bytes], list[str]]:
    """Stream the archive: sha256 of every regular file, the bytes of the two metadata files,
    and problems with the archive's structure. Nothing is extracted, and no file is held in
    memory whole (files are hashed in chunks of `CHUNK` bytes; only SHA256SUMS and the crate
    metadata, at most `MAX_METADATA_BYTES` each, are kept).

    Names are normalised (``./a`` is ``a``), so an archive packed from inside its top folder
    (``tar czf ../x.tar.gz .``) reads like one packed with its top folder; an archive whose files
    sit at its root (``SHA256SUMS`` at the root) is read as having no top folder. A file that
    would expand to more than ``max_member_bytes``, or files adding up to more than
    ``max_total_bytes``, stop the reading with an `ArchiveError`.
    """
    import hashlib

    entries: dict[tuple[str, ...], str] = {}
    kept_by_parts: dict[tuple[str, ...], bytes] = {}
    problems = []
    total = 0
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for info in tar:
                pure = PurePosixPath(info.name)
                parts = pure.parts
                if pure.is_absolute() or ".." in parts:
                    problems.append(f"extra: {info.name} (unsafe member name)")
                    continue
                if info.isdir() or not parts:
                    continue
                name = pure.as_posix()
                if not info.isfile():
                    problems.append(f"extra: {name} (not a regular file)")
                    continue
                if parts in entries:
                    problems.append(f"altered: {name} (appears more than once in the archive)")
                    continue
                if info.size > max_member_bytes:
                    raise ArchiveError(
                        f"{path}: {name} would expand to {info.size} bytes, more than the limit of "
                        f"{max_member_bytes} bytes for one file; not verified"
                    )
                total += info.size
                if total > max_total_bytes:
                    raise ArchiveError(
                        f"{path}: its files would expand to more than the limit of {max_total_bytes} bytes; "
                        "not verified"
                    )
                keep = parts[-1] in (SUMS, CRATE) and len(parts) <= 2
                if keep and info.size > MAX_METADATA_BYTES:
                    raise ArchiveError(
                        f"{path}: {name} is {info.size} bytes, more than the limit of {MAX_METADATA_BYTES} bytes "
                        "for a metadata file; not verified"
                    )
                digest, payload = hashlib.sha256(), bytearray()
                stream = tar.extractfile(info)
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    if keep:
                        payload += chunk
                entries[parts] = digest.hexdigest()
                if keep:
                    kept_by_parts[parts] = bytes(payload)
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile, ValueError, zlib.error) as error:
        raise ArchiveError(f"{path} is not a readable .tar.gz archive ({type(error).__name__}: {error})") from None

    # Layout: files under one top folder (as `build_archive` writes them), or at the root.
    rootless = (SUMS,) in entries or (CRATE,) in entries
    top = None
    if not rootless and entries:
        # The folder that holds SHA256SUMS; failing that, the one that holds the most files.
        holders = [parts[0] for parts in entries if parts[1:] == (SUMS,)]
        top = holders[0] if holders else Counter(parts[0] for parts in entries).most_common(1)[0][0]
    hashes, kept = {}, {}
    for parts, digest in entries.items():
        if top is None:
            name = PurePosixPath(*parts).as_posix()
        elif parts[0] != top or len(parts) < 2:
            problems.append(f"extra: {PurePosixPath(*parts).as_posix()} (outside the top folder {top}/)")
            continue
        else:
            name = PurePosixPath(*parts[1:]).as_posix()
        hashes[name] = digest
        if parts in kept_by_parts and name in (SUMS, CRATE):
            kept[name] = kept_by_parts[parts]
    return hashes, kept, problems


def parse_sums(payload: bytes) -> tuple[dict[str, str], list[str]]:
    """The entries of SHA256SUMS and, if any, why SHA256SUMS itself is not intact."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return {}, [f"altered: {SUMS} (not UTF-8 text)"]
    # Split on newlines only: str.splitlines would also split on other control characters.
    lines = text.split("\n")
    if lines[-1] != "":
        return {}, [f"altered: {SUMS} (does not end with a newline)"]
    *body, last = lines[:-1] or [""]
    problems = []
    check = SELF_CHECK.match(last)
    if check is None:
        problems.append(f"altered: {SUMS} (its last line, the checksum of the lines above, is damaged)")
    elif sha256_bytes("".join(line + "\n" for line in body).encode()) != check.group(1):
        problems.append(f"altered: {SUMS} (its lines do not match the checksum on its last line)")
    entries = {}
    for number, line in enumerate(body, start=1):
        entry = SUM_LINE.match(line)
        if entry is None:
            problems.append(f"altered: {SUMS} (line {number} is not '<sha256>  <path>')")
            continue
        entries[entry.group(2)] = entry.group(1)
    return entries, problems[:1]


def parse_crate(payload: bytes | None) -> tuple[dict[str, str | None], list[str]]:
    """{file id: sha256 recorded in the crate} for the crate's File entities, and what is wrong
    with the metadata (read with the ``rocrate`` package and checked for the run's description)."""
    if payload is None:
        return {}, [f"missing: {CRATE}"]
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        return {}, [f"altered: {CRATE} (not valid JSON: {error})"]
    try:
        from rocrate.rocrate import ROCrate

        crate = ROCrate(source=document)
    except Exception as error:  # the reader raises many kinds of errors on bad metadata
        return {}, [f"altered: {CRATE} (not a readable RO-Crate: {type(error).__name__}: {error})"]
    files, problems = {}, []
    for entity in crate.data_entities:
        if "File" in entity.type:
            # Crate ids are URL-encoded relative paths ("a%20b.txt" for "a b.txt").
            files[unquote(entity.id)] = entity.get("sha256")
    main = crate.mainEntity
    if main is None or unquote(main.id) not in files:
        problems.append(f"altered: {CRATE} (no main workflow file)")
    actions = [entity for entity in crate.get_entities() if "CreateAction" in (entity.type or [])]
    if not actions or not all(action.get("startTime") and action.get("endTime") for action in actions):
        problems.append(f"altered: {CRATE} (no workflow run with a start and end time)")
    return files, problems


def verify_archive(path: str | os.PathLike, *, max_member_bytes: int = MAX_MEMBER_BYTES) -> Verification:
    """Check every file of an archive written by `build_archive` against SHA256SUMS and the
    RO-Crate metadata; the result names each missing, extra or altered file, one line each.
    Files larger than ``max_member_bytes`` are refused (`ArchiveError`) before being read."""
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist")
    actual, kept, structure = read_members(path, max_member_bytes=max_member_bytes)
    found: dict[str, str] = {}

    def report(name: str, message: str) -> None:
        found.setdefault(name, message)

    if SUMS in kept:
        sums, sums_problems = parse_sums(kept[SUMS])
        for problem in sums_problems:
            report(SUMS, problem)
    else:
        sums, sums_problems = {}, [f"missing: {SUMS}"]
        report(SUMS, sums_problems[0])
    sums_intact = not sums_problems
    crate_files, crate_problems = parse_crate(kept.get(CRATE))
    crate_content_ok = CRATE in actual and (not sums_intact or sums.get(CRATE) == actual[CRATE])

    for name in sorted((set(sums) | set(crate_files) | set(actual)) - {SUMS}):
        if name not in actual:
            report(name, f"missing: {name}")
            continue
        if sums_intact:
            expected = sums.get(name)
        elif name == CRATE:
            # A damaged SHA256SUMS cannot vouch for the crate; only the crate's own checks can.
            if crate_problems:
                report(CRATE, crate_problems[0])
            continue
        else:
            expected = crate_files.get(name) or sums.get(name)
        if expected is None:
            listed_in = SUMS if sums_intact else f"{SUMS} or {CRATE}"
            report(name, f"extra: {name} (not listed in {listed_in})")
        elif expected != actual[name]:
            report(name, f"altered: {name} (sha256 is {actual[name][:16]}..., expected {expected[:16]}...)")
        elif name != CRATE and crate_content_ok and not crate_problems:
            if name not in crate_files:
                report(name, f"extra: {name} (not described in {CRATE})")
            elif crate_files[name] not in (None, actual[name]):
                report(CRATE, f"altered: {CRATE} (its sha256 for {name} does not match the file)")
    if crate_content_ok:
        for problem in crate_problems:
            report(CRATE, problem)
    problems = structure + [found[name] for name in sorted(found)]
    return Verification(files=len(actual), problems=problems)
