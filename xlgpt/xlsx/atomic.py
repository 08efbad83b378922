"""Write a file through a temporary file beside it, renamed into place only when everything succeeded.

The temporary file is `.NAME.PID.RANDOM.part`: an error removes it, SIGTERM too (the command line's handler
removes every temporary file still being written, `pending()`, then exits), and a run killed outright
(SIGKILL, a power cut) leaves one whose writer is gone, which the next write of the same target removes.
"""

import os
import signal
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path


_PENDING: set = set()  # temporary files being written now, for the SIGTERM handler


def pending() -> list:
    return list(_PENDING)


def track(tmp) -> None:
    _PENDING.add(str(tmp))


def untrack(tmp) -> None:
    _PENDING.discard(str(tmp))


@contextmanager
def atomic_output(path, still_source=None):
    """Yields a binary file object; on success the file becomes `path`, on any error nothing is left.

    still_source, when given, is called just before the rename and raises if the file the output was made
    from has changed meanwhile (another program wrote it): the output is then discarded, not renamed.

    A symbolic link is written through: the file it points to is replaced and the link stays a link. A file
    that is replaced keeps its permission bits, and its owner and group where this process may set them. (A
    rename gives the path a new inode: other hard links to the old file keep the old contents.)"""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    remove_leftovers(path)
    # SIGTERM is held back from the file's creation until it is tracked: the handler removes tracked files, and
    # a signal between the two would leave this one behind (seen once in CI)
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=path.parent)
        track(tmp)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as f:
            yield f
        _take_mode(tmp, path)
        if still_source is not None:
            still_source()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        untrack(tmp)


def _take_mode(tmp: str, path: Path) -> None:
    """The new file's permissions: those of the file it replaces, else an ordinary file's under the umask
    (mkstemp makes it private)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        return
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except PermissionError:  # only root gives a file away; the group too where we belong to it
        try:
            os.chown(tmp, -1, st.st_gid)
        except PermissionError:
            pass


def remove_leftovers(path: Path) -> None:
    """Temporary files of earlier writes of `path` whose process is gone."""
    prefix = f".{path.name}."
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix) and n.endswith(".part")]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            try:
                (path.parent / name).unlink()
            except OSError:
                pass


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


@contextmanager
def exclusive(path, waiting=None):
    """Hold an exclusive lock on the file at `path` (flock on its inode), so that writers of one workbook take
    turns. A writer replaces the file by renaming, so the lock is taken again until it is held on the file
    that is at `path` now. waiting(), when given, is called once if another process holds the lock."""
    import fcntl
    path = Path(path)
    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            yield  # nothing there yet to take turns on: the rename makes the write whole
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting:
                    waiting()
                    waiting = None
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                yield
                return
        finally:
            os.close(fd)
