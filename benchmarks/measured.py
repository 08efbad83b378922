"""Running a benchmark's child process and measuring it: wall time, and the peak memory of that child alone
(wait4's rusage: RUSAGE_CHILDREN would give the largest child so far)."""

import os
import subprocess
import tempfile
import time


def run(argv: list, env: dict | None = None, cwd=None) -> tuple[float, float, str]:
    """(seconds, peak resident GB, stdout) of argv; one line with its stderr's end when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen([str(a) for a in argv], env={**os.environ, **(env or {})}, stdout=out, stderr=err,
                             cwd=cwd)
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if p.returncode:
            raise SystemExit(f"{' '.join(map(str, argv))} failed:\n{err.read().decode()[-2000:]}")
        return seconds, usage.ru_maxrss * 1024 / 1e9, out.read().decode()
