"""LibreOffice headless as an independent spreadsheet program: recalculate a workbook and save it with values."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from xlgpt.errors import XlgptError

# A profile that recalculates .xlsx on load (0: always; LibreOffice's default, 1, is never).
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalculate(book: Path, out_dir: Path, timeout: float = 1800, recalc: bool = True) -> Path:
    """Open `book` in LibreOffice headless with recalculation on load, save it as .xlsx in out_dir.

    recalc False: load and save without recalculating (to time the loading alone)."""
    return convert(book, out_dir, "xlsx", ".xlsx", timeout, recalc)


def convert(book: Path, out_dir: Path, to: str, suffix: str, timeout: float = 1800, recalc: bool = True) -> Path:
    """Open `book` in LibreOffice headless (recalculating on load unless `recalc` is False) and save it in
    out_dir with --convert-to `to` (a format and its filter options); returns the file saved."""
    exe = soffice()
    if exe is None:
        raise XlgptError("LibreOffice is not installed: apt-get install libreoffice-calc")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlgpt-lo-") as profile:  # each run its own profile
        (Path(profile) / "user").mkdir()
        (Path(profile) / "user" / "registrymodifications.xcu").write_text(_PROFILE.format(mode=0 if recalc else 1))
        cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", to, "--outdir", str(out_dir), str(book)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "HOME": profile})
    out = out_dir / (Path(book).stem + suffix)
    if r.returncode != 0 or not out.exists():
        raise XlgptError(f"LibreOffice failed on {book}: {r.stderr.strip() or r.stdout.strip()}")
    return out
