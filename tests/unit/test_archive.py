"""The results archive: what it holds, and that verification names every missing, extra or
altered file without extracting anything."""

import gzip
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from memorization import archive, cli
from memorization.archive import CRATE, PACKAGES, SUMS, Member, build_archive, verify_archive

TOP = "memorization-test"
RECORDS = [
    {
        "started": "2026-11-28T10:00:00+00:00",
        "finished": "2026-11-28T10:05:00+00:00",
        "packages": {"python": "3.11.7", "keras": "3.15.1", "snakemake": "9.27.1", "numpy": "2.4.6"},
        "git": {"commit": "0123abcd"},
    },
    {
        "started": "2026-11-28T09:59:00+00:00",
        "finished": "2026-11-28T10:00:00+00:00",
        "data": {"dataset": "mnist", "origin": "mirror", "sha256": "ab" * 32, "n_train": 60000, "n_test": 10000},
    },
]


PYPROJECT = b'''[project]
name = "memorization"
version = "0.1.0"

[project.urls]
Repository = "https://example.org/memorization-reproduction"
'''


@pytest.fixture
def small_archive(tmp_path):
    """An archive of a few small files, laid out like a scale's results."""
    source = tmp_path / "source"
    files = {
        "figures/c1.png": b"\x89PNG\r\n\x1a\n" + bytes(range(200)),
        "tables/c1.csv": b"run,statistic,value\nr,a,1.0\n",
        "claims.csv": b"claim,value\nc1,1e-11\n",
        "runs/c1/r/metrics.json": b'{"metrics": {"a": 1.0}}\n',
        "config.yaml": b"scale: test\n",
        "workflow/Snakefile": b"rule all:\n    input: []\n",
        "workflow/pyproject.toml": PYPROJECT,
        "name with spaces.txt": b"spaces are allowed\n",
    }
    members = []
    for name, payload in files.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        role = "input" if name == "config.yaml" else "workflow" if name.startswith("workflow/") else "result"
        members.append(Member(path, name, role))
    output = tmp_path / "archive.tar.gz"
    hashes = build_archive(
        output, members, top=TOP, name="test archive", description="unit test",
        main_workflow="workflow/Snakefile", records=RECORDS,
    )
    return output, hashes


def read_all(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {info.name: tar.extractfile(info).read() for info in tar if info.isfile()}


def rewrite(path: Path, target: Path, change) -> None:
    """Write ``target``: the archive at ``path`` with its members passed through ``change``."""
    members = change(read_all(path))
    with tarfile.open(target, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def flip_byte(name: str, position: int):
    def change(members):
        payload = bytearray(members[f"{TOP}/{name}"])
        payload[position] ^= 0x01
        members[f"{TOP}/{name}"] = bytes(payload)
        return members

    return change


def test_archive_holds_every_file_with_checksums_and_crate(small_archive):
    output, hashes = small_archive
    members = read_all(output)
    names = {name.removeprefix(f"{TOP}/") for name in members}
    assert {"figures/c1.png", "claims.csv", "config.yaml", SUMS, CRATE, PACKAGES} <= names
    assert all(name.startswith(f"{TOP}/") for name in members)

    sums = members[f"{TOP}/{SUMS}"].decode().splitlines()
    assert sums[-1].startswith("# sha256 of the lines above: ")
    listed = dict(reversed(line.split("  ", 1)) for line in sums[:-1])
    assert set(listed) == names - {SUMS}
    assert listed["figures/c1.png"] == hashes["figures/c1.png"]
    assert "numpy==" in members[f"{TOP}/{PACKAGES}"].decode()

    crate = json.loads(members[f"{TOP}/{CRATE}"])
    graph = {entity["@id"]: entity for entity in crate["@graph"]}
    root = graph["./"]
    assert root["mainEntity"] == {"@id": "workflow/Snakefile"}
    assert "ComputationalWorkflow" in graph["workflow/Snakefile"]["@type"]
    assert graph["figures/c1.png"]["sha256"] == hashes["figures/c1.png"]
    action = graph["#workflow-run"]
    assert action["@type"] == "CreateAction"
    assert action["startTime"] == "2026-11-28T09:59:00+00:00" and action["endTime"] == "2026-11-28T10:05:00+00:00"
    assert {"@id": "figures/c1.png"} in action["result"] and {"@id": "config.yaml"} in action["object"]
    assert {"@id": "#dataset-mnist"} in action["object"]
    assert action["actionStatus"] == "http://schema.org/CompletedActionStatus"
    assert action["agent"] == {"@id": "#memorization-reproduction-authors"}
    keras = graph["https://pypi.org/project/keras/3.15.1/"]
    assert keras["@type"] == "SoftwareApplication" and keras["softwareVersion"] == "3.15.1"
    assert keras["url"] == "https://keras.io/"
    assert graph["https://www.python.org/downloads/release/python-3117/"]["name"] == "Python"
    assert all(software["@id"].startswith("https://") for software in graph["workflow/Snakefile"]["softwareRequirements"])
    assert root["conformsTo"] == [
        {"@id": "https://w3id.org/ro/wfrun/process/0.5"},
        {"@id": "https://w3id.org/ro/wfrun/workflow/0.5"},
        {"@id": "https://w3id.org/workflowhub/workflow-ro-crate/1.0"},
    ]
    assert all(graph[profile["@id"]]["@type"] == "CreativeWork" for profile in root["conformsTo"])
    assert root["mentions"] == {"@id": "#workflow-run"}
    assert root["license"] == {"@id": "https://spdx.org/licenses/MIT"}
    assert graph["https://spdx.org/licenses/MIT"]["@type"] == "CreativeWork"
    assert root["author"] == root["publisher"] == {"@id": "#memorization-reproduction-authors"}
    authors = graph["#memorization-reproduction-authors"]
    assert authors["@type"] == "Organization" and authors["url"] == "https://example.org/memorization-reproduction"
    workflow = graph["workflow/Snakefile"]
    assert workflow["version"] == "0.1.0" and workflow["url"] == "https://example.org/memorization-reproduction"
    assert workflow["conformsTo"] == {"@id": "https://bioschemas.org/profiles/ComputationalWorkflow/1.0-RELEASE"}
    readme = graph["README.md"]
    assert readme["about"] == {"@id": "./"} and readme["encodingFormat"] == "text/markdown"
    assert "verify-archive" in members[f"{TOP}/README.md"].decode()
    assert {"sha256": "http://schema.org/sha256"} in crate["@context"]


def test_crate_states_no_url_it_does_not_know(tmp_path):
    """Without [project.urls] in the archived pyproject.toml, neither the workflow nor its
    authors get a made-up url."""
    (tmp_path / "Snakefile").write_text("rule all:\n    input: []\n")
    output = tmp_path / "a.tar.gz"
    build_archive(output, [Member(tmp_path / "Snakefile", "workflow/Snakefile", "workflow")], top=TOP,
                  name="n", description="d", main_workflow="workflow/Snakefile", records=RECORDS)
    graph = {entity["@id"]: entity for entity in json.loads(read_all(output)[f"{TOP}/{CRATE}"])["@graph"]}
    assert "url" not in graph["workflow/Snakefile"] and "url" not in graph["#memorization-reproduction-authors"]
    assert graph["workflow/Snakefile"]["version"] == archive.__version__


def test_sha256sum_accepts_the_checksum_file(small_archive, tmp_path):
    output, _ = small_archive
    unpacked = tmp_path / "unpacked"
    with tarfile.open(output, "r:gz") as tar:
        tar.extractall(unpacked, filter="data")
    checked = subprocess.run(["sha256sum", "--strict", "-c", SUMS], cwd=unpacked / TOP, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_same_files_give_the_same_archive_bytes(small_archive, tmp_path):
    output, _ = small_archive
    members = [Member(Path(tmp_path / "source" / name), name) for name in ("claims.csv", "workflow/Snakefile")]
    first, second = tmp_path / "first.tar.gz", tmp_path / "second.tar.gz"
    for target in (first, second):
        build_archive(target, members, top=TOP, name="n", description="d", main_workflow="workflow/Snakefile",
                      records=RECORDS)
    assert first.read_bytes() == second.read_bytes()


def test_intact_archive_verifies(small_archive):
    output, hashes = small_archive
    result = verify_archive(output)
    assert result.ok, result.problems
    assert result.files == len(hashes) + 1  # + SHA256SUMS


@pytest.mark.parametrize("name", ["figures/c1.png", "claims.csv", "name with spaces.txt", PACKAGES, CRATE, SUMS])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_altered_byte_is_named(small_archive, tmp_path, name, where):
    output, _ = small_archive
    size = len(read_all(output)[f"{TOP}/{name}"])
    position = {"first": 0, "middle": size // 2, "last": size - 1}[where]
    altered = tmp_path / "altered.tar.gz"
    rewrite(output, altered, flip_byte(name, position))
    result = verify_archive(altered)
    assert not result.ok
    assert len(result.problems) == 1, result.problems
    assert result.problems[0].startswith(f"altered: {name} ("), result.problems


def test_missing_and_extra_files_are_named(small_archive, tmp_path):
    output, _ = small_archive

    def change(members):
        del members[f"{TOP}/tables/c1.csv"]
        members[f"{TOP}/figures/c9.png"] = b"not in the checksums"
        return members

    changed = tmp_path / "changed.tar.gz"
    rewrite(output, changed, change)
    problems = verify_archive(changed).problems
    assert "missing: tables/c1.csv" in problems
    assert any(problem.startswith("extra: figures/c9.png") for problem in problems)
    assert len(problems) == 2, problems


def test_missing_checksum_file_is_named(small_archive, tmp_path):
    output, _ = small_archive
    changed = tmp_path / "changed.tar.gz"
    rewrite(output, changed, lambda members: {k: v for k, v in members.items() if not k.endswith(SUMS)})
    assert f"missing: {SUMS}" in verify_archive(changed).problems


def test_unreadable_archive_is_an_error(tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(gzip.compress(b"not a tar file at all" * 10)[:-8])
    with pytest.raises(archive.ArchiveError, match="not a readable"):
        verify_archive(broken)


def test_unsafe_member_names_are_reported(small_archive, tmp_path):
    output, _ = small_archive
    changed = tmp_path / "changed.tar.gz"
    rewrite(output, changed, lambda members: members | {f"{TOP}/../evil.txt": b"x"})
    assert any("unsafe" in problem for problem in verify_archive(changed).problems)


def test_verification_extracts_nothing(small_archive, tmp_path, monkeypatch):
    output, _ = small_archive
    workdir = tmp_path / "empty"
    workdir.mkdir()
    monkeypatch.chdir(workdir)

    def refuse(*args, **kwargs):
        raise AssertionError("verification must not extract")

    monkeypatch.setattr(tarfile.TarFile, "extract", refuse)
    monkeypatch.setattr(tarfile.TarFile, "extractall", refuse)
    assert verify_archive(output).ok
    assert list(workdir.iterdir()) == []


def test_cli_exit_status_and_messages(small_archive, tmp_path, capsys):
    output, _ = small_archive
    assert cli.main(["verify-archive", str(output)]) == 0
    assert "OK" in capsys.readouterr().out

    altered = tmp_path / "altered.tar.gz"
    rewrite(output, altered, flip_byte("tables/c1.csv", 3))
    assert cli.main(["verify-archive", str(altered)]) == 1
    error = capsys.readouterr().err
    assert "altered: tables/c1.csv" in error and "FAILED" in error

    assert cli.main(["verify-archive", str(tmp_path / "absent.tar.gz")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_console_script_is_installed(small_archive):
    output, _ = small_archive
    command = Path(sys.executable).with_name("memorization")
    if not command.exists():
        pytest.skip("console script not installed in this environment")
    checked = subprocess.run([str(command), "verify-archive", str(output)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_bad_member_names_and_missing_sources_are_refused(tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("a")
    for members, message in [
        ([Member(source, "../a.txt")], "relative path"),
        ([Member(source, "a.txt"), Member(source, "a.txt")], "listed twice"),
        ([Member(tmp_path / "absent", "absent")], "no such file"),
        ([Member(source, SUMS)], "clashes"),
    ]:
        with pytest.raises(archive.ArchiveError, match=message):
            build_archive(tmp_path / "x.tar.gz", members, top=TOP, name="n", description="d",
                          main_workflow="a.txt", records=[])
    assert not (tmp_path / "x.tar.gz").exists()
    assert not any(name.name.startswith(".x.tar.gz") for name in tmp_path.iterdir())


def unpack(output: Path, target: Path) -> Path:
    with tarfile.open(output, "r:gz") as tar:
        tar.extractall(target, filter="data")
    return target / TOP


def test_archive_repacked_from_inside_its_folder_verifies(small_archive, tmp_path):
    """`cd memorization-test && tar czf ../x.tar.gz .` gives members named ./NAME and a '.'
    entry, and no top folder: verification reads it like the original."""
    output, hashes = small_archive
    folder = unpack(output, tmp_path / "unpacked")
    repacked = tmp_path / "unpacked" / "repacked.tar.gz"
    subprocess.run(["tar", "czf", "../repacked.tar.gz", "."], cwd=folder, check=True)
    with tarfile.open(repacked, "r:gz") as tar:
        names = tar.getnames()
    assert "." in names or "./" in names
    assert all(name.startswith(".") for name in names)
    result = verify_archive(repacked)
    assert result.ok, result.problems
    assert result.files == len(hashes) + 1

    # ... and an altered file in such an archive is still named.
    (folder / "claims.csv").write_bytes(b"claim,value\nc1,2e-11\n")
    subprocess.run(["tar", "czf", "../altered.tar.gz", "."], cwd=folder, check=True)
    problems = verify_archive(tmp_path / "unpacked" / "altered.tar.gz").problems
    assert len(problems) == 1 and problems[0].startswith("altered: claims.csv ("), problems


def test_archive_repacked_with_dot_slash_top_folder_verifies(small_archive, tmp_path):
    """`tar czf x.tar.gz ./memorization-test` (names ./memorization-test/NAME)."""
    output, _ = small_archive
    unpack(output, tmp_path / "unpacked")
    repacked = tmp_path / "repacked.tar.gz"
    subprocess.run(["tar", "czf", str(repacked), f"./{TOP}"], cwd=tmp_path / "unpacked", check=True)
    assert verify_archive(repacked).ok


def test_file_outside_the_top_folder_is_extra_wherever_it_comes(small_archive, tmp_path):
    output, _ = small_archive

    def change(members):
        return {"aaa-first.txt": b"stray"} | members

    changed = tmp_path / "changed.tar.gz"
    rewrite(output, changed, change)
    problems = verify_archive(changed).problems
    assert problems == [f"extra: aaa-first.txt (outside the top folder {TOP}/)"], problems


class Zeros(io.RawIOBase):
    """``size`` zero bytes, read in pieces (so building a big member needs no big buffer)."""

    def __init__(self, size: int):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def archive_with_zeros(tmp_path: Path, size: int) -> Path:
    """A valid archive (SHA256SUMS and crate included) whose runs/big.bin is ``size`` zero bytes;
    a few hundred KB on disk."""
    import hashlib

    digest = hashlib.sha256()
    stream = Zeros(size)
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    small = tmp_path / "small.tar.gz"
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text("rule all:\n    input: []\n")
    build_archive(small, [Member(snakefile, "workflow/Snakefile", "workflow")], top=TOP, name="n",
                  description="d", main_workflow="workflow/Snakefile", records=RECORDS)
    members = read_all(small)
    crate = json.loads(members[f"{TOP}/{CRATE}"])
    crate["@graph"].append({"@id": "runs/big.bin", "@type": "File", "sha256": digest.hexdigest()})
    root = next(entity for entity in crate["@graph"] if entity["@id"] == "./")
    root["hasPart"] = [*root["hasPart"], {"@id": "runs/big.bin"}]
    members[f"{TOP}/{CRATE}"] = json.dumps(crate).encode()
    sums = {
        name.removeprefix(f"{TOP}/"): archive.sha256_bytes(payload)
        for name, payload in members.items()
        if not name.endswith(SUMS)
    }
    sums["runs/big.bin"] = digest.hexdigest()
    members[f"{TOP}/{SUMS}"] = archive.sums_text(sums).encode()
    big = tmp_path / "big.tar.gz"
    with tarfile.open(big, "w:gz", compresslevel=1) as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        info = tarfile.TarInfo(f"{TOP}/runs/big.bin")
        info.size = size
        tar.addfile(info, io.BufferedReader(Zeros(size)))
    return big


def test_big_member_is_hashed_in_chunks(tmp_path):
    import tracemalloc

    size = 48 << 20
    big = archive_with_zeros(tmp_path, size)
    assert big.stat().st_size < size // 100
    tracemalloc.start()
    try:
        result = verify_archive(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok, result.problems
    # Reading the member whole would take 48 MiB; chunks take ~1 MiB.
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB"


def test_member_over_the_size_limit_is_refused_in_one_line(tmp_path, capsys):
    big = archive_with_zeros(tmp_path, 8 << 20)
    with pytest.raises(archive.ArchiveError) as refused:
        verify_archive(big, max_member_bytes=1 << 20)
    message = str(refused.value)
    assert "\n" not in message
    assert "runs/big.bin would expand to 8388608 bytes" in message and "limit of 1048576 bytes" in message
    assert cli.main(["verify-archive", "--max-file-bytes", str(1 << 20), str(big)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith("error: ") and "limit" in error
    assert verify_archive(big).ok
