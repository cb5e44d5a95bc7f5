"""The README's examples run from a fresh clone exactly as written.

How the commands are found (the convention README.md states in its tour):
- every line starting `$ flopgrid` inside a fenced block (``` ... ```) of README.md is a
  command; a line ending in a backslash continues on the next one;
- the lines after a command, up to the next `$ ` line or the end of the block, are its
  shown output;
- commands run in order, in one empty scratch folder (so a later block may use the files an
  earlier one wrote), through a `flopgrid` on PATH that runs this checkout, with COLUMNS=80
  (a pipe's width) and a private cache;
- a block is not run when the line before its opening fence is the HTML comment
  `<!-- tour: skip REASON -->` (commands that need a server, a GPU or minutes);
- a `$ ` line other than `$ flopgrid` in a block that runs is an error (mark the block).

Checks: every command exits 0, or 2 when its shown output starts with
`flopgrid: error:` (then stderr is exactly that one line); every shown output line that
holds no timing (`1.33 s`) and is not `...` appears in the real output (whitespace at the
ends ignored), so the README shows real output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

from conftest import REPO

TIMING = re.compile(r"\b\d+(\.\d+)? s\b")
SKIP = re.compile(r"^<!--\s*tour:\s*skip\b(.*)-->\s*$")


@dataclass
class Command:
    line: int
    text: str
    shown: list[str] = field(default_factory=list)


def tour_commands(readme: str) -> tuple[list[Command], list[str]]:
    """The commands to run and the reasons of the skipped blocks."""
    lines = readme.splitlines()
    commands: list[Command] = []
    skipped: list[str] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        skip = SKIP.match(lines[i - 1].strip()) if i else None
        j = i + 1
        current: Command | None = None
        while j < len(lines) and not lines[j].startswith("```"):
            text = lines[j]
            if text.startswith("$ "):
                if skip:
                    current = None
                elif text.startswith("$ flopgrid"):
                    current = Command(j + 1, text[2:])
                    while current.text.endswith("\\") and j + 1 < len(lines):
                        j += 1
                        current.text = current.text[:-1] + " " + lines[j].strip()
                    commands.append(current)
                else:
                    raise AssertionError(f"README.md:{j + 1}: {text!r} is not a flopgrid command; "
                                         "mark its block with <!-- tour: skip REASON -->")
            elif current is not None:
                current.shown.append(text)
            j += 1
        if skip:
            skipped.append(skip.group(1).strip())
        i = j + 1
    return commands, skipped


def test_the_parser_finds_commands_outputs_and_skips():
    text = "\n".join(["```", "$ flopgrid a \\", "   --b", "out 1", "$ flopgrid c", "```", "",
                      "<!-- tour: skip needs a server -->", "```", "$ flopgrid serve", "$ curl x", "```"])
    commands, skipped = tour_commands(text)
    assert [(c.text, c.shown) for c in commands] == [("flopgrid a  --b", ["out 1"]), ("flopgrid c", [])]
    assert skipped == ["needs a server"]


def test_readme_tour_runs_as_written(tmp_path):
    commands, skipped = tour_commands((REPO / "README.md").read_text())
    assert len(commands) >= 10 and skipped
    work = tmp_path / "clone-user"
    work.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "flopgrid"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m flopgrid \"$@\"\n")
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "80",
           "FLOPGRID_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(REPO / "src")}
    env.pop("FORCE_COLOR", None)
    for cmd in commands:
        proc = subprocess.run(["bash", "-c", cmd.text], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)
        where = f"README.md:{cmd.line}: {cmd.text}"
        expect_error = bool(cmd.shown) and cmd.shown[0].startswith("flopgrid: error:")
        if expect_error:
            assert proc.returncode == 2, f"{where}\n{proc.stderr}"
            assert proc.stderr.strip() == cmd.shown[0].strip(), where
            continue
        assert proc.returncode == 0, f"{where}\nexit {proc.returncode}\n{proc.stderr[-3000:]}"
        real = {line.strip() for line in (proc.stdout + proc.stderr).splitlines()}
        for shown in cmd.shown:
            s = shown.strip()
            if not s or s == "..." or TIMING.search(s):
                continue
            assert s in real, f"{where}\nshown line not in the real output: {s!r}\n--- real ---\n{proc.stdout}"
